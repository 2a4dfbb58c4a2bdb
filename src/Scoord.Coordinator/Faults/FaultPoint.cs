namespace Scoord.Coordinator.Faults;

/// <summary>
/// Named fault-injection points (as CRIU has): <c>SCOORD_FAULT=NAME[@N]</c> makes scoord kill itself
/// with SIGKILL the N-th time (default 1) it reaches the point. The names are in docs/reliability.md.
/// </summary>
public enum FaultPoint : byte
{
    /// <summary>SCOORD_FAULT unset or unknown: no point is armed.</summary>
    None,

    /// <summary><c>run-before-commit</c>: intents buffered, before the group commit (nothing of the batch is durable, no syscall ran).</summary>
    RunBeforeCommit,

    /// <summary><c>run-after-intent</c>: the intents of a batch are committed, the tracees not yet resumed into their syscalls.</summary>
    RunAfterIntent,

    /// <summary><c>run-before-completion</c>: at a syscall-exit stop, the syscall ran, its completion is not yet buffered.</summary>
    RunBeforeCompletion,

    /// <summary><c>checkpoint-before-record</c>: inside the barrier, every tracee held, before the checkpoint record is buffered.</summary>
    CheckpointBeforeRecord,

    /// <summary><c>checkpoint-after-record</c>: inside the barrier, the checkpoint record committed (synced), before the tracees resume.</summary>
    CheckpointAfterRecord,

    /// <summary><c>rollback-midway</c>: during a rollback, after N undo actions (N from @N, default 1).</summary>
    RollbackMidway,

    /// <summary>
    /// <c>tracee-kill-before-completion</c>: not a crash of scoord: at the N-th syscall-exit stop of a journaled
    /// op, scoord SIGKILLs the tracee (the syscall ran, its completion is never written) and goes on.
    /// </summary>
    TraceeKillBeforeCompletion,

    /// <summary><c>drain-before-commit</c>: the fast path's drain has records of the rings in its batch, before its commit (the rings keep them: recovery).</summary>
    DrainBeforeCommit,

    /// <summary>
    /// <c>hook-after-intent</c>: not reached by scoord: the fast path's library in the app SIGKILLs its own process
    /// at the N-th call whose INTENT is published, before the syscall runs.
    /// </summary>
    HookAfterIntent,

    /// <summary><c>hook-after-syscall</c>: as hook-after-intent, after the syscall ran and before its DONE record.</summary>
    HookAfterSyscall,

    /// <summary>
    /// <c>decode-throw</c>: not a crash of scoord: the N-th seccomp stop that reaches the decoder throws, as a bug in
    /// a decoder would. Fault isolation must fail that one op (EIO) and trace on.
    /// </summary>
    DecodeThrow,

    /// <summary><c>complete-throw</c>: the N-th syscall-exit stop of a journaled op throws before its completion is recorded.</summary>
    CompleteThrow,
}
