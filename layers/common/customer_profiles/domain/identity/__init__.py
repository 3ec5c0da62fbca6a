"""Who a person is: platform users and their identifiers, registration, the profiles a user holds, the
proof that brings a sale to a person, linking, history."""
