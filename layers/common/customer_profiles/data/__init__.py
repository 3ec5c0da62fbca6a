"""The data layer: the only package that knows the table's keys, expressions and boto3.

`keys` builds every key, `codec` turns items into models and back, `tx` builds transactions, `table`
makes reads complete; one module per aggregate (users, profiles, orders, resellers, tasks); `store`
composes them.
"""
