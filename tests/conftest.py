import os

from customer_profiles.edge.config import placeholders

# No test may reach AWS: fake credentials and a fixed region for every boto3 client.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_METRICS_NAMESPACE="CustomerProfilesTest",
    POWERTOOLS_SERVICE_NAME="customer-profiles",
    POWERTOOLS_DEV="false",
)
# Functions refuse to start without their settings (customer_profiles.edge.config.require); tests that
# use a table or an identity provider set the real values in their fixtures.
os.environ.update({**placeholders("unset-in-tests"), **os.environ})
