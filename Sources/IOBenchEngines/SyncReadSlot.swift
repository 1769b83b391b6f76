/// The one read a synchronous engine has in flight: `prepare` records it, the engine's
/// `commit` performs it, `reap` hands back its result. Shared by psync and pvsync2, which
/// differ only in the system call.
struct SyncReadSlot {
    var slot = -1
    var offset: UInt64 = 0
    var result: Int32 = 0

    @inline(__always)
    mutating func prepare(slot: Int, offset: UInt64) {
        self.slot = slot
        self.offset = offset
    }

    @inline(__always)
    mutating func reap(into batch: CompletionBatch) -> Int {
        guard slot >= 0 else { return 0 }
        batch.slots[0] = UInt64(slot)
        batch.results[0] = result
        slot = -1
        return 1
    }
}
