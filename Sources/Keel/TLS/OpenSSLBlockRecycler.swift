// OpenSSLBlockRecycler: the allocation functions Keel gives OpenSSL, so that
// a TLS connection's steady state calls malloc for nothing. OpenSSL 3's
// record layer builds every record's header through a WPACKET, and a
// WPACKET mallocs (and frees again) a 40-byte bookkeeping block for itself
// and one for each length prefix it opens: three per record written, one
// per record read (gdb on CRYPTO_malloc under scripts/allocations.sh's
// probe; 0.25 mallocs per message at 16 x 64 B pipelined). Freed blocks of
// that one size class wait on a short per-thread list and are handed out
// again; every other request goes to malloc as it would have.
//
// Every block on a list is an ordinary malloc block with at least 40
// usable bytes (malloc(40) usually gives glibc's 48-byte chunk, whose 40
// bytes requests of 25 to 40 share anyway, so rounding them up costs
// nothing; a chunk malloc could not split gives 56), so blocks freed on
// another thread than the one that made them, and a realloc of any block,
// are safe either way.
//
// When they are installed. OpenSSL 3.0 takes allocation functions only
// before it has allocated anything, so this happens only if Keel's first
// TLS context comes before any other use of OpenSSL in the process; not
// over functions an application gave OpenSSL before; not under a sanitizer
// (kept blocks would skip its quarantine, hiding a use after free).
// Otherwise OpenSSL keeps its allocator and the server says so at start.
// Once installed, OpenSSL no longer refuses a later change of allocator (it
// locks that only inside its default malloc): an application must not give
// OpenSSL other functions after Keel has, as their free would then meet
// malloc's blocks.

import COpenSSL
import Glibc
import KeelPosix

enum OpenSSLBlockRecycler {
    /// The size requested for the blocks kept: malloc's chunk for requests
    /// of 25 to 40 bytes, which holds WPACKET's bookkeeping block.
    static let blockBytes = 40
    /// The largest usable size a kept block may have: malloc hands out a
    /// whole 64-byte chunk (56 usable) when splitting it would leave too
    /// little; larger blocks are freed rather than kept for 40 bytes.
    static let largestKeptBytes = 56
    /// Requests this small or smaller get their own (smaller) chunk from
    /// malloc; rounding them up to `blockBytes` would cost memory.
    static let smallerChunkBytes = 24
    /// Blocks one thread keeps at most: a record's blocks are freed within
    /// its SSL_read or SSL_write, so a few suffice; the rest is slack for
    /// handshakes' frees of the same size.
    static let perThreadLimit = 32

    /// Installs the functions once per process; true when OpenSSL uses
    /// them (see the file header for when it does not).
    static let installed: Bool = install()

    private static func install() -> Bool {
        guard !underSanitizer else { return false }
        var currentMalloc: CRYPTO_malloc_fn?
        var currentRealloc: CRYPTO_realloc_fn?
        var currentFree: CRYPTO_free_fn?
        CRYPTO_get_mem_functions(&currentMalloc, &currentRealloc, &currentFree)
        let defaults: (CRYPTO_malloc_fn, CRYPTO_realloc_fn, CRYPTO_free_fn) = (
            CRYPTO_malloc, CRYPTO_realloc, CRYPTO_free
        )
        guard let currentMalloc, let currentRealloc, let currentFree,
            address(of: currentMalloc) == address(of: defaults.0),
            address(of: currentRealloc) == address(of: defaults.1),
            address(of: currentFree) == address(of: defaults.2)
        else { return false }
        _ = threadKey
        return CRYPTO_set_mem_functions(recyclingMalloc, recyclingRealloc, recyclingFree) == 1
    }

    /// AddressSanitizer or ThreadSanitizer is in the process.
    private static var underSanitizer: Bool {
        dlsym(nil, "__asan_init") != nil || dlsym(nil, "__tsan_init") != nil
    }

    private static func address<F>(of function: F) -> UnsafeRawPointer {
        unsafeBitCast(function, to: UnsafeRawPointer.self)
    }

    /// One thread's kept blocks: a list threaded through the blocks' first
    /// word.
    struct ThreadBlocks {
        var head: UnsafeMutableRawPointer?
        var count: Int
    }

    /// Each thread's ThreadBlocks; its blocks are freed when the thread ends.
    static let threadKey: pthread_key_t = {
        var key = pthread_key_t()
        let created = pthread_key_create(&key) { value in
            guard let value else { return }
            let blocks = value.assumingMemoryBound(to: ThreadBlocks.self)
            while let block = blocks.pointee.head {
                blocks.pointee.head = block.load(as: UnsafeMutableRawPointer?.self)
                free(block)
            }
            blocks.deallocate()
        }
        precondition(created == 0, "pthread_key_create failed")
        return key
    }()

    /// This thread's list, made on its first allocation (a free on a thread
    /// that has none goes straight to free).
    static func threadBlocks(creating: Bool) -> UnsafeMutablePointer<ThreadBlocks>? {
        if let value = pthread_getspecific(threadKey) {
            return value.assumingMemoryBound(to: ThreadBlocks.self)
        }
        guard creating else { return nil }
        let blocks = UnsafeMutablePointer<ThreadBlocks>.allocate(capacity: 1)
        blocks.initialize(to: ThreadBlocks(head: nil, count: 0))
        guard pthread_setspecific(threadKey, blocks) == 0 else {
            blocks.deallocate()
            return nil
        }
        return blocks
    }

    static func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        // OpenSSL's own CRYPTO_malloc answers NULL for 0 bytes.
        guard size > 0 else { return nil }
        guard size > smallerChunkBytes && size <= blockBytes else { return malloc(size) }
        if let blocks = threadBlocks(creating: true), let block = blocks.pointee.head {
            blocks.pointee.head = block.load(as: UnsafeMutableRawPointer?.self)
            blocks.pointee.count -= 1
            assert(HeapMemory.blockBytes(block) >= blockBytes, "a kept block is smaller than its class")
            return block
        }
        return malloc(blockBytes)
    }

    static func release(_ pointer: UnsafeMutableRawPointer?) {
        guard let pointer else { return }
        guard (blockBytes...largestKeptBytes).contains(HeapMemory.blockBytes(pointer)),
            let blocks = threadBlocks(creating: false),
            blocks.pointee.count < perThreadLimit
        else { return free(pointer) }
        pointer.storeBytes(of: blocks.pointee.head, as: UnsafeMutableRawPointer?.self)
        blocks.pointee.head = pointer
        blocks.pointee.count += 1
    }
}

// OpenSSL's calling conventions; the file and line arguments are for
// OpenSSL's debugging allocators.
private let recyclingMalloc: CRYPTO_malloc_fn = { size, _, _ in OpenSSLBlockRecycler.allocate(size) }

private let recyclingRealloc: CRYPTO_realloc_fn = { pointer, size, _, _ in
    // As OpenSSL's CRYPTO_realloc: nil grows from nothing, 0 frees.
    guard let pointer else { return OpenSSLBlockRecycler.allocate(size) }
    guard size > 0 else {
        OpenSSLBlockRecycler.release(pointer)
        return nil
    }
    return realloc(pointer, size)
}

private let recyclingFree: CRYPTO_free_fn = { pointer, _, _ in OpenSSLBlockRecycler.release(pointer) }
