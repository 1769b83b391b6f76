/// The layers a read's CPU time is rolled up into, by kernel function name: data, in
/// order, the first rule that matches a function wins. Extend it here: a rule is a layer
/// name and the name prefixes (or, starting with `*`, substrings) of its functions.
public enum KernelLayers {
    public static let rules: [(layer: String, patterns: [String])] = [
        ("iobench (user space)", ["[iobench]", "[user"]),
        ("io_uring/aio", ["io_uring", "__io_", "io_submit_sqes", "io_issue_sqe", "io_read", "io_wq", "io_req", "io_cq",
                          "io_poll", "io_fixed", "io_import", "io_rw", "io_do_iopoll", "io_acct", "io_worker", "io_run_task",
                          "__x64_sys_io_", "__do_sys_io_", "aio_", "__do_sys_io_getevents", "do_io_getevents", "read_events",
                          "io_submit_one", "lookup_ioctx"]),
        ("syscall entry", ["entry_SYSCALL", "do_syscall_64", "syscall_exit", "__x64_sys_", "__do_sys_", "ksys_",
                           "syscall_enter", "exit_to_user_mode", "x64_sys_call", "srso_", "__pfx_"]),
        ("filesystem", ["ext4_", "xfs_", "btrfs_", "shmem_", "jbd2_", "__ext4", "__xfs"]),
        ("VFS and iomap", ["vfs_", "iomap_", "__iomap", "rw_verify_area", "filemap_", "generic_file", "copy_page_to_iter",
                           "_copy_to_iter", "iov_iter", "__fdget", "fdget", "fput", "security_file", "xas_", "folio_",
                           "touch_atime", "file_", "kiocb", "__kmalloc", "kmem_cache", "kfree", "mempool"]),
        ("block layer", ["blk_", "__blk", "bio_", "submit_bio", "__submit_bio", "blkdev_", "dd_", "bfq_", "kyber_",
                         "bdev_", "__bio"]),
        // iowrite16 and friends: a virtio doorbell, where a VM exits to its host.
        ("driver", ["nvme_", "virtio", "vring_", "virtqueue", "vp_", "loop_", "lo_rw", "lo_read", "null_", "iowrite", "ioread",
                    "__iowrite", "__ioread"]),
        ("interrupts and softirq", ["asm_common_interrupt", "common_interrupt", "irq_", "handle_irq", "__irq", "__do_softirq",
                                    "handle_softirqs", "do_softirq", "sysvec_", "asm_sysvec", "handle_edge_irq",
                                    "__sysvec", "irqentry"]),
        ("scheduler", ["schedule", "__schedule", "finish_task_switch", "try_to_wake_up", "ttwu_", "pick_next", "enqueue_",
                       "dequeue_", "update_curr", "_raw_spin", "native_queued_spin", "wake_up", "__wake_up", "__cond_resched",
                       "psi_", "hrtimer", "do_nanosleep", "futex_"]),
    ]
    public static let other = "other"

    /// The layer of one function.
    public static func layer(of function: String) -> String {
        for rule in rules {
            for p in rule.patterns {
                if p.hasPrefix("*") ? function.contains(p.dropFirst()) : function.hasPrefix(p) { return rule.layer }
            }
        }
        return other
    }

    /// Every layer, in report order.
    public static var names: [String] { rules.map(\.layer) + [other] }
}
