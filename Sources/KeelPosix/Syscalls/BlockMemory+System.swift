// BlockMemory+System: the server's source of ring memory: malloc for blocks
// a pool may keep, so exhaustion fails one connection rather than the
// process; fresh mappings for large blocks, so their pages leave the process
// the moment they are returned (glibc raises its mmap threshold after the
// first large free, so large mallocs would stay resident after a burst).

import CShims
import Glibc
import KeelWire

extension BlockMemory {
    /// malloc and free for small blocks, mmap and munmap for large ones.
    package static let system = BlockMemory(
        // glibc's malloc returns 16-byte-aligned memory on 64-bit systems;
        // mapped memory is page-aligned.
        allocate: { bytes, large in large ? keel_map_memory(bytes) : malloc(bytes) },
        release: { block, bytes, large in
            if large {
                let rc = keel_unmap_memory(block, bytes)
                precondition(rc == 0, "munmap: \(rc)")
            } else {
                free(block)
            }
        }
    )
}
