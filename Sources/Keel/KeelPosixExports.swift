// Keel's public API names types of the system layer (Errno, SocketAddress,
// Locked, ProcessSetup): an application that imports Keel sees them too.

@_exported import KeelPosix
