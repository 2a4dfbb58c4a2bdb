using Scoord.Interceptors;
using Scoord.Interceptors.Decoding;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal.Model;

namespace Scoord.Journal;

/// <summary>
/// One journal event as the CLI shows it: an intent merged with its completion, or a process event.
/// Fields that do not apply are 0 / null.
/// </summary>
public sealed class JournalEntry
{
    public ulong Seq { get; init; }
    public long TimeNs { get; init; }
    public int Pid { get; init; }
    public int Tid { get; init; }
    public OpCode Op { get; init; }

    /// <summary>The syscall name ("openat", "renameat2") or process event name ("fork", "exec", "exit").</summary>
    public string OpName => OpNames.Name(Op);

    /// <summary>The object the operation changes or creates (process events: the executable), raw bytes.</summary>
    public byte[]? Path { get; init; }

    /// <summary>The second object (rename/link: the new name; symlink: the target text), raw bytes.</summary>
    public byte[]? Path2 { get; init; }

    public int Fd { get; init; }
    public ulong OpFlags { get; init; }
    public uint Mode { get; init; }
    public long Offset { get; init; }
    public long Length { get; init; }
    public uint Uid { get; init; }
    public uint Gid { get; init; }
    public ulong Dev { get; init; }
    public ulong Ino { get; init; }
    public ObjectKind Kind { get; init; }
    public IntentFlags IntentFlags { get; init; }
    public int InjectedErrno { get; init; }

    /// <summary>The syscall's return value; null while pending.</summary>
    public long? Result { get; init; }

    /// <summary>0 on success, the positive errno on failure; null while pending.</summary>
    public int? Errno { get; init; }

    /// <summary>"ENOENT"; null when the operation succeeded or is pending.</summary>
    public string? ErrnoName => Errno is int e and not 0 ? ErrnoNames.NameOrNumber(e) : null;

    public EntryStatus Status { get; init; }

    /// <summary>Identity of the object after the operation (from the completion); 0 if unknown.</summary>
    public ulong DevAfter { get; init; }
    public ulong InoAfter { get; init; }

    /// <summary>Time of the completion; null while pending.</summary>
    public long? CompletionTimeNs { get; init; }

    public bool IsProcessEvent { get; init; }

    /// <summary>Fork/vfork/clone: the parent; exec: the former tid when a non-leader thread exec'd.</summary>
    public int Ppid { get; init; }

    /// <summary>Exit: the exit status when exited normally, else -1.</summary>
    public int ExitCode { get; init; }

    /// <summary>Exit: the terminating signal, else 0.</summary>
    public int Signal { get; init; }

    public ulong CloneFlags { get; init; }

    /// <summary>Exec: the arguments (each escaped as <see cref="PathText"/> does).</summary>
    public IReadOnlyList<string>? Argv { get; init; }

    /// <summary>
    /// The checkpoint this entry belongs to: the id of the newest checkpoint whose seq is smaller than
    /// this entry's; null before the first checkpoint.
    /// </summary>
    public int? Checkpoint { get; init; }

    /// <summary>A checkpoint event (<see cref="OpCode.Checkpoint"/>): the id of the checkpoint taken; else null.</summary>
    public int? CheckpointId { get; init; }

    /// <summary>The operation's time as a DateTimeOffset (UTC).</summary>
    public DateTimeOffset Time => DateTimeOffset.UnixEpoch.AddTicks(TimeNs / 100);

    /// <summary><see cref="Path"/> as text (reversible escape of non-UTF-8 bytes).</summary>
    public string? PathText => Path is null ? null : Journal.PathText.ToText(Path);

    /// <summary><see cref="Path2"/> as text.</summary>
    public string? Path2Text => Path2 is null ? null : Journal.PathText.ToText(Path2);
}
