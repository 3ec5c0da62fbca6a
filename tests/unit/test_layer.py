"""The built layer (`sam build`, which `make test` runs before these tests) stays lean: no copy of the
runtime's boto3/botocore, the lite phone-number data, at most 60 MB unpacked."""

from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / ".aws-sam" / "build" / "CommonLayer" / "python"
MAX_BYTES = 60 * 1024 * 1024

pytestmark = pytest.mark.skipif(not LAYER.is_dir(), reason="the layer is not built: make build")


def test_the_layer_leaves_boto3_and_botocore_to_the_runtime():
    assert not [p.name for p in LAYER.iterdir() if p.name.split("-")[0] in ("boto3", "botocore", "s3transfer")]


def test_phone_numbers_come_without_geocoding_carrier_or_timezone_data():
    assert (LAYER / "phonenumbers" / "data").is_dir()
    assert not [n for n in ("geodata", "carrierdata", "tzdata") if (LAYER / "phonenumbers" / n).exists()]


def test_the_layer_is_at_most_60_mb_unpacked():
    size = sum(p.stat().st_size for p in LAYER.rglob("*") if p.is_file())
    assert size <= MAX_BYTES, f"{size / 2**20:.1f} MB"
