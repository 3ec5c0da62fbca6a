"""The data layer: the only package that knows the table's keys, expressions and boto3.

`keys` builds every key, `codec` turns items into models and back, `tx` builds transactions, `table`
makes reads complete; a module per aggregate and per responsibility within one (profiles and what a profile
implies, orders, sales, typed sales, moves, history, claims and their listing and schedule...); `store`
composes them into the one class that implements every port of `customer_profiles.ports`.
"""
