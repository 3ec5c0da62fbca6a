"""Ports: what the domain asks of the data layer. One module per use-case family, each holding small
`typing.Protocol`s (the operations that family's use cases call) and the write plans the domain hands over.
`data.store.Store` implements them all structurally; each use case takes the narrowest one."""
