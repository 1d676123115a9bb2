// Keel's public API names types of the layers below it: wire formats and
// protocols (WireFormat, RESPCommand, ProxyHeader, SocketAddress) and the
// system layer (Errno, Locked, ProcessSetup). An application that imports
// Keel sees them too.

@_exported import KeelPosix
@_exported import KeelWire
