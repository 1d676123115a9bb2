// ProcessSetup: what a server process does first, before it opens anything.
//
// SIGPIPE: Keel's own writes use MSG_NOSIGNAL, but a process also writes to
// its log: when standard error is a pipe whose reader has gone (`keel 2>&1 |
// head -n 1`), the next log line raises SIGPIPE, whose default action ends
// the process. Ignoring it turns that into an EPIPE the writer can handle, and
// `kill -PIPE` into nothing. SIGXFSZ likewise: a log file that reaches the
// file-size limit (`ulimit -f`) must fail its write (EFBIG), not end the
// server.
//
// Descriptors 0, 1 and 2: a process started with one of them closed (`keel
// 2>&-`) hands that number to the first descriptor it opens, a listening or
// client socket, and its log lines then go to that socket: a client would
// read the server's log, a listener raises SIGPIPE. Opening /dev/null on each
// closed one keeps sockets clear of them (what daemons have long done).

import CShims
import Glibc

/// Process-wide settings a server makes before it starts.
public enum ProcessSetup {
    /// Ignores SIGPIPE and SIGXFSZ and opens /dev/null on any of descriptors 0, 1 and 2
    /// that is closed. Call it first thing in `main`, before anything opens
    /// a descriptor; the `keel` executables do.
    public static func prepareServerProcess() {
        for signal in [SIGPIPE, SIGXFSZ] {
            let rc = keel_ignore_signal(signal)
            precondition(rc == 0, "sigaction(\(signal)): \(Errno(rawValue: -rc))")
        }
        for standard in Int32(0)...2 where fcntl(standard, F_GETFD) < 0 && errno == EBADF {
            // open(2) returns the lowest free number: this one, since those
            // below it are open (or were just opened here).
            let fd = open("/dev/null", O_RDWR)
            precondition(fd == standard, "could not open /dev/null on descriptor \(standard)")
        }
    }
}
