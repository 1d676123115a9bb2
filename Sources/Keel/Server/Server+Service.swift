// Server as a swift-service-lifecycle Service, so a host application's
// ServiceGroup starts it with its other services and its graceful shutdown
// (SIGTERM, or another service ending) reaches Keel.

import ServiceLifecycle

extension Server: Service {
    /// Starts the server (if `start()` was not called yet) and runs until it
    /// stops. Graceful shutdown or task cancellation calls `shutdown()`:
    /// pending output drains for up to `shutdownTimeoutMs`, then this returns.
    public func run() async throws {
        if localAddress == nil { try start() }
        try await handle.run()
    }
}

extension ServerHandle {
    /// Waits for the started server to stop, shutting it down on graceful
    /// shutdown or cancellation.
    func run() async throws {
        let handle = self
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await handle.waitOnOwnThread()
            } onCancel: {
                handle.shutdown()
            }
        } onGracefulShutdown: {
            handle.shutdown()
        }
    }

    /// `wait()` blocks, so it runs on a thread of its own, not on the
    /// cooperative pool that async code shares.
    private func waitOnOwnThread() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            LoopThread.detached(name: "keel-wait") {
                self.wait()
                continuation.resume()
            }
        }
    }
}
