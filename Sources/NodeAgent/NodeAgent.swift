// One node: the kernel wired to config, persistence, the HTTP API and (when configured) the cluster.
@_exported import ClusterCore
