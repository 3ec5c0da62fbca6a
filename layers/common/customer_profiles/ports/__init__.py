"""The seams between the domain and the data layer: Protocols per use-case family and the values handed across."""
