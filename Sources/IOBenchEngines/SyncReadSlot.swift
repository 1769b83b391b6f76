/// The one read a synchronous engine has in flight: `prepare` records it, the engine's
/// `commit` performs it, `reap`, `completion` and `consume` hand back its result. Shared by psync and pvsync2, which
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
    func reap() -> Int { slot >= 0 ? 1 : 0 }

    @inline(__always)
    func completion() -> Completion { Completion(slot: slot, result: result) }

    @inline(__always)
    mutating func consume() { slot = -1 }
}
