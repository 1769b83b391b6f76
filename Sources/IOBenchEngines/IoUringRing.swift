import CIOBenchShim
import Glibc
import IOBenchPlatform

/// The io_uring machinery both io_uring engines share: ring set-up with the requested
/// features, registered files and buffers, SQE preparation, batched submit and the CQ
/// walk. The two engines differ only in set-up flags and in what they check first.
public final class IoUringRing {
    let ring: UnsafeMutablePointer<io_uring>
    let fd: Int32
    let blockSize: UInt32
    let buffers: AlignedBuffers
    let fixedFile: Int32
    let fixedBuffers: Bool
    var prepared: Int = 0
    /// The last batch waits to be submitted by reap's submit-and-wait.
    var deferred = false
    /// SQPOLL submits by itself; everything else folds the last submit into the wait.
    let foldSubmitIntoWait: Bool
    /// Flags the ring was created with, for the report.
    public var setupFlags: UInt32 { info.setupFlags }
    /// What the ring really ran with (flags, registered fd, features, sizes), for the report.
    public let info: RingInfo
    /// Waits end after `reapTimeoutNs` (IORING_FEAT_EXT_ARG); without the feature they
    /// block until completions arrive, as before.
    let timedWaits: Bool

    init(_ setup: EngineSetup, polled: Bool) throws(IOBenchError) {
        if let disabled = StorageInfo.ioUringDisabled(), disabled == 2 {
            throw .badInput("io_uring is disabled on this machine (sysctl kernel.io_uring_disabled=2); enable it with 'sysctl kernel.io_uring_disabled=0' or use --engine libaio")
        }
        guard setup.queueDepth <= 32768 else {
            throw .badInput("--iodepth \(setup.queueDepth) exceeds io_uring's ring limit of 32768 entries; lower --iodepth")
        }
        guard let r = iob_ring_alloc() else { throw .runFailed("out of memory allocating an io_uring") }
        ring = r
        var base: UInt32 = 0
        if polled { base |= IOB_IORING_SETUP_IOPOLL }
        if setup.options.sqpoll { base |= IOB_IORING_SETUP_SQPOLL }
        // Completion task work: by default the kernel interrupts the submitting task to run
        // it (an IPI per completion batch). COOP_TASKRUN defers it to the next kernel
        // entry, SINGLE_ISSUER + DEFER_TASKRUN runs it only when we ask for events, as
        // fio and t/io_uring do. Older kernels reject the flags: fall back step by step.
        var attempts: [UInt32] = [0]
        if !setup.options.plainRing {
            let coop = IOB_IORING_SETUP_COOP_TASKRUN, single = IOB_IORING_SETUP_SINGLE_ISSUER, deferred = IOB_IORING_SETUP_DEFER_TASKRUN
            attempts = setup.options.sqpoll
                ? [coop | single, coop, 0]
                : [coop | single | deferred, coop | single, coop, 0]
        }
        // SQPOLL: the kernel's thread frees SQ entries when it commits a batch, which can
        // be after the loop has reaped those reads and prepared new ones; twice the
        // depth keeps a free entry there (iob_ring_next_sqe waits when there is none).
        let sqEntries = setup.options.sqpoll ? min(2 * setup.queueDepth, 32768) : setup.queueDepth
        var rc: Int32 = -EINVAL
        var flags: UInt32 = base
        for extra in attempts {
            flags = base | extra
            rc = iob_ring_init(r, UInt32(sqEntries), flags, 1000)
            if rc != -EINVAL || extra == 0 { break }
        }
        guard rc == 0 else {
            free(r)
            switch -rc {
            case EPERM:
                throw .badInput("io_uring_setup refused with EPERM: io_uring is restricted here (kernel.io_uring_disabled=1 or a seccomp policy); run as a member of the io_uring group, or use --engine libaio")
            case ENOSYS:
                throw .badInput("this kernel has no io_uring (ENOSYS); use --engine libaio or psync")
            case ENOMEM:
                if let asLimit = ResourceLimits.current(IOB_RLIMIT_AS) {
                    throw .runFailed("io_uring_setup failed (ENOMEM): a ring of \(setup.queueDepth) does not fit the address-space limit (ulimit -v, RLIMIT_AS, \(ResourceLimits.mib(asLimit))); lower --numjobs or --iodepth, or raise ulimit -v")
                }
                throw .runFailed("io_uring_setup failed with ENOMEM: the locked-memory limit (ulimit -l, RLIMIT_MEMLOCK) or memory is too low for a ring of \(setup.queueDepth); raise it with 'ulimit -l unlimited' or lower --iodepth")
            case EMFILE, ENFILE:
                let limit = ResourceLimits.current(IOB_RLIMIT_NOFILE).map { " = \($0)" } ?? ""
                throw .runFailed("io_uring_setup failed: \(Errno(-rc)): one file per job's ring exceeds the open-file limit (ulimit -n, RLIMIT_NOFILE\(limit)); raise ulimit -n or lower --numjobs")
            case EINVAL:
                throw .badInput("io_uring_setup rejected the ring (EINVAL) for --iodepth \(setup.queueDepth)\(setup.options.sqpoll ? " with --sqpoll" : ""); lower --iodepth or drop the option")
            default:
                throw .runFailed("io_uring_setup failed: \(Errno(-rc))")
            }
        }
        timedWaits = iob_ring_has_ext_arg(r) != 0
        foldSubmitIntoWait = !setup.options.sqpoll
        // A registered ring fd saves the fd lookup on every io_uring_enter (kernel 5.18+).
        let registered = io_uring_register_ring_fd(r) == 1
        info = RingInfo(setupFlags: flags, registeredRingFd: registered, features: r.pointee.features,
                        sqEntries: r.pointee.sq.ring_entries, cqEntries: r.pointee.cq.ring_entries)
        blockSize = UInt32(setup.blockSize)
        depth = setup.queueDepth
        buffers = setup.buffers
        fixedBuffers = setup.options.fixedBuffers

        if setup.options.registeredFiles {
            var f = setup.fd
            let rr = io_uring_register_files(r, &f, 1)
            guard rr == 0 else {
                io_uring_queue_exit(r); free(r)
                throw .runFailed("io_uring_register_files failed: \(Errno(-rr)); drop --registered-files")
            }
            fd = 0
            fixedFile = 1
        } else {
            fd = setup.fd
            fixedFile = 0
        }
        if setup.options.fixedBuffers {
            guard let raw = iob_malloc(setup.queueDepth * MemoryLayout<iovec>.stride) else {
                throw .runFailed("no memory to register \(setup.queueDepth) buffers (ENOMEM): \(ResourceLimits.memoryFix)")
            }
            let iovecs = raw.bindMemory(to: iovec.self, capacity: setup.queueDepth)
            for i in 0 ..< setup.queueDepth { iovecs[i] = iovec(iov_base: setup.buffers.buffer(i), iov_len: setup.blockSize) }
            let rb = io_uring_register_buffers(r, iovecs, UInt32(setup.queueDepth))
            iob_free(raw)
            guard rb == 0 else {
                // Every stored property is set by now, so deinit exits and frees the ring.
                if rb == -ENOMEM || rb == -EPERM {
                    throw .runFailed("registering \(setup.queueDepth) buffers of \(setup.blockSize) bytes failed (\(Errno(-rb))): RLIMIT_MEMLOCK is too low; raise it with 'ulimit -l unlimited' or drop --fixed-buffers")
                }
                throw .runFailed("io_uring_register_buffers failed: \(Errno(-rb)); drop --fixed-buffers")
            }
        }
    }

    deinit {
        io_uring_queue_exit(ring)
        free(ring)
    }

    @inline(__always)
    func prepare(slot: Int, offset: UInt64) {
        // The ring has at least as many SQEs as the queue depth and the loop never has
        // more in flight; iob_ring_next_sqe waits for SQPOLL's thread to free one. A
        // failure there (the kernel refused the wait) fails the next commit.
        if iob_ring_prep_read(ring, fd, buffers.buffer(slot), blockSize, offset, UInt64(slot),
                              fixedFile, fixedBuffers ? Int32(slot) : -1) != 0 { lostSQE = true }
        prepared &+= 1
    }

    /// A read could not be given an SQE (see prepare).
    var lostSQE = false

    @inline(__always)
    func commit(beforeReap: Bool) throws(IOBenchError) {
        if lostSQE { throw .runFailed("no free io_uring SQE for a read and the kernel refused to wait for one (IORING_ENTER_SQ_WAIT)") }
        if beforeReap && foldSubmitIntoWait {
            // Submitted by reap's io_uring_submit_and_wait: one enter instead of two.
            deferred = true
            return
        }
        try submitPrepared()
    }

    @inline(__always)
    func submitPrepared() throws(IOBenchError) {
        deferred = false
        while prepared > 0 {
            let r = iob_ring_submit(ring)
            if r >= 0 { prepared -= Int(r); if r == 0 { break }; continue }
            if r == -EINTR || r == -EAGAIN || r == -EBUSY { continue }
            prepared = 0
            throw .runFailed("io_uring_enter (submit) failed: \(Errno(-r))")
        }
        prepared = 0
    }

    /// The CQ head at the last reap; its completions are read from there in place.
    var cqHead: UInt32 = 0
    let depth: Int

    @inline(__always)
    func reap(minimum: Int) throws(IOBenchError) -> Int {
        if deferred {
            deferred = false
            var r: Int32
            if timedWaits {
                // One enter submits and waits; on a timeout the loop gets what is there
                // (maybe nothing) and checks its stop flag and deadline.
                repeat { r = iob_ring_submit_and_wait_timeout(ring, UInt32(minimum), reapTimeoutNs) } while r == -EINTR || r == -EAGAIN || r == -EBUSY
                guard r >= 0 || r == -ETIME else { throw .runFailed("io_uring_enter (submit and wait) failed: \(Errno(-r))") }
                prepared = 0
                return ready()
            }
            repeat { r = iob_ring_submit_and_wait(ring, UInt32(minimum)) } while r == -EINTR || r == -EAGAIN || r == -EBUSY
            guard r >= 0 else { throw .runFailed("io_uring_enter (submit and wait) failed: \(Errno(-r))") }
            prepared = 0
        }
        if Int(iob_ring_cq_ready(ring)) < minimum {
            var r: Int32
            if timedWaits {
                repeat { r = iob_ring_wait_timeout(ring, UInt32(minimum), reapTimeoutNs) } while r == -EINTR || r == -EAGAIN
                guard r == 0 || r == -ETIME else { throw .runFailed("io_uring_enter (wait) failed: \(Errno(-r))") }
            } else {
                repeat { r = iob_ring_wait(ring, UInt32(minimum)) } while r == -EINTR || r == -EAGAIN
                guard r == 0 else { throw .runFailed("io_uring_enter (wait) failed: \(Errno(-r))") }
            }
        }
        return ready()
    }

    /// Open loop: waits at most `timeoutNs` for `minimum` completions; with 0 it only
    /// collects what has completed, entering the kernel when the ring needs that to post
    /// them (DEFER_TASKRUN runs its task work only on an enter; IOPOLL polls there).
    func reap(minimum: Int, timeoutNs: Int64) throws(IOBenchError) -> Int {
        if deferred { try submitPrepared() }
        if Int(iob_ring_cq_ready(ring)) >= max(1, minimum) { return ready() }
        var r: Int32
        if minimum == 0 || !timedWaits {
            repeat { r = iob_ring_get_events(ring) } while r == -EINTR || r == -EAGAIN || r == -EBUSY
            guard r >= 0 else { throw .runFailed("io_uring_enter (get events) failed: \(Errno(-r))") }
        } else {
            let t = max(1, min(timeoutNs, reapTimeoutNs))
            repeat { r = iob_ring_wait_timeout(ring, UInt32(minimum), t) } while r == -EINTR || r == -EAGAIN
            guard r == 0 || r == -ETIME else { throw .runFailed("io_uring_enter (wait) failed: \(Errno(-r))") }
        }
        return ready()
    }

    @inline(__always)
    func ready() -> Int {
        cqHead = iob_ring_cq_head(ring)
        return min(Int(iob_ring_cq_ready(ring)), depth)
    }

    @inline(__always)
    func completion(_ i: Int) -> Completion {
        let pos = cqHead &+ UInt32(truncatingIfNeeded: i)
        return Completion(slot: Int(truncatingIfNeeded: iob_ring_cqe_user_data(ring, pos)), result: iob_ring_cqe_res(ring, pos))
    }

    @inline(__always)
    func consume(_ count: Int) {
        if count > 0 { iob_ring_cq_advance(ring, UInt32(truncatingIfNeeded: count)) }
    }
}
