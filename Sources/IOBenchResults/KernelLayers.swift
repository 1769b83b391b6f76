/// The layers a read's CPU time is rolled up into, by kernel function name: data, in
/// order, the first rule that matches a function wins. Extend it here: a rule is a layer
/// name and the name prefixes (or, starting with `*`, substrings) of its functions.
///
/// A sample belongs to the layer of its innermost frame, except that generic helpers
/// (locks, memory allocation, speculation thunks, clock reads: `helpers`) are charged to
/// the nearest caller that has a layer: a spinlock taken by virtio_queue_rq is the
/// driver's time, a kfree in iomap_dio_complete is iomap's.
public enum KernelLayers {
    public static let rules: [(layer: String, patterns: [String])] = [
        ("iobench (user space)", ["[iobench]", "[user"]),
        ("io_uring/aio", ["io_uring", "__io_", "io_submit_sqes", "io_issue_sqe", "io_read", "io_wq", "io_req", "io_cq",
                          "io_poll", "io_fixed", "io_import", "io_rw", "io_do_iopoll", "io_acct", "io_worker", "io_run_task",
                          "io_prep", "io_free", "io_alloc", "io_cache", "io_file", "io_complete", "io_get_", "io_put_",
                          "io_post", "io_fill", "io_flush", "io_submit_flush", "io_queue", "io_assign", "io_init_req",
                          "io_wake", "io_sq", "tctx_task_work",
                          "__x64_sys_io_", "__do_sys_io_", "aio_", "__do_sys_io_getevents", "do_io_getevents", "read_events",
                          "io_submit_one", "lookup_ioctx"]),
        ("syscall entry", ["entry_SYSCALL", "do_syscall_64", "syscall_exit", "__x64_sys_", "__do_sys_", "ksys_",
                           "syscall_enter", "exit_to_user_mode", "x64_sys_call", "arch_exit_to_user_mode"]),
        ("filesystem", ["ext4_", "xfs_", "btrfs_", "shmem_", "jbd2_", "__ext4", "__xfs", "__btrfs"]),
        // Direct I/O pins the user's pages (gup) for the bio; iomap's allocations and frees
        // (the dio, the bio's vecs) are charged to it through `helpers`.
        ("VFS and iomap", ["vfs_", "iomap_", "__iomap", "rw_verify_area", "filemap_", "generic_file", "copy_page_to_iter",
                           "_copy_to_iter", "iov_iter", "__fdget", "fdget", "fget", "fput", "__fput", "security_file",
                           "xas_", "folio_", "touch_atime", "file_", "kiocb", "gup_", "pin_user_pages", "__get_user_pages",
                           "try_grab_", "unpin_user_page", "inode_dio", "invalidate_"]),
        ("block layer", ["blk_", "__blk", "bio_", "submit_bio", "__submit_bio", "blkdev_", "dd_", "__dd_", "bfq_", "kyber_",
                         "bdev_", "__bio", "sbitmap", "__sbitmap", "wbt_", "rq_qos", "__rq_qos", "elv_", "ioc_",
                         "bvec_", "part_", "update_io_ticks"]),
        // iowrite16 and friends: a virtio doorbell, where a VM exits to its host.
        ("driver", ["nvme_", "virtio", "vring_", "virtqueue", "vp_", "loop_", "lo_rw", "lo_read", "null_", "iowrite", "ioread",
                    "__iowrite", "__ioread", "scsi_", "ata_"]),
        ("interrupts and softirq", ["asm_common_interrupt", "common_interrupt", "irq_", "handle_irq", "__irq", "__do_softirq",
                                    "handle_softirqs", "do_softirq", "sysvec_", "asm_sysvec", "handle_edge_irq",
                                    "__sysvec", "irqentry", "__napi", "net_rx"]),
        ("scheduler", ["schedule", "io_schedule", "__schedule", "finish_task_switch", "try_to_wake_up", "ttwu_", "pick_next", "enqueue_",
                       "dequeue_", "update_curr", "wake_up", "__wake_up", "__cond_resched", "psi_", "hrtimer",
                       "do_nanosleep", "futex_", "__futex", "context_switch", "switch_mm", "__switch_to"]),
    ]
    public static let other = "other"

    /// Generic helpers: charged to the layer of their nearest caller that has one.
    public static let helpers: [String] = [
        "_raw_spin", "_raw_read", "_raw_write", "native_queued_spin", "__raw_callee_save", "queued_spin", "__pv_queued",
        "pv_native", "kmem_cache_", "__kmalloc", "kmalloc", "kfree", "__kfree", "mempool_", "__slab", "slab_", "___slab",
        "memcpy", "memset", "memmove", "__memcpy", "__memset", "clear_page", "__x86_indirect_thunk", "__x86_return_thunk",
        "its_return_thunk", "srso_", "__pfx_", "retbleed_", "read_tsc", "native_read_tsc", "ktime_get", "rcu_", "__rcu_",
        "up_read", "down_read", "up_write", "down_write", "mutex_", "percpu_", "__percpu", "refcount_", "__local_bh",
        "local_bh", "preempt_", "__srcu", "xa_", "__xa", "radix_", "lockref_", "__check_object_size", "check_heap_object",
        "__virt_addr_valid", "should_failslab",
    ]

    /// The layer of one function by its name alone (nil for a helper).
    public static func ownLayer(of function: String) -> String? {
        if matches(function, helpers) { return nil }
        for rule in rules where matches(function, rule.patterns) { return rule.layer }
        return other
    }

    /// The layer of one function by name; a helper's is `other` (its samples are charged
    /// to a caller by `layer(ofStack:)`).
    public static func layer(of function: String) -> String { ownLayer(of: function) ?? other }

    /// The layer of a sample: its innermost frame's, or for a helper the nearest caller's
    /// (frames outermost first, as in folded stacks).
    public static func layer<S: BidirectionalCollection>(ofStack frames: S) -> String where S.Element: StringProtocol {
        for f in frames.reversed() {
            if let l = ownLayer(of: String(f)) { return l }
        }
        return other
    }

    static func matches(_ function: String, _ patterns: [String]) -> Bool {
        for p in patterns where p.hasPrefix("*") ? function.contains(p.dropFirst()) : function.hasPrefix(p) { return true }
        return false
    }

    /// Every layer, in report order.
    public static var names: [String] { rules.map(\.layer) + [other] }
}
