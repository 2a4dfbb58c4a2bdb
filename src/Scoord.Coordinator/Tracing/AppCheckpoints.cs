using System.Text;
using Microsoft.Extensions.Logging;
using Scoord.Coordinator.Ingest;
using Scoord.Interceptors;
using Scoord.Interceptors.Decoding;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Tracing;

/// <summary>
/// Application checkpoints (--app-checkpoint GLOB): many programs checkpoint their own memory to
/// files. When the app finishes writing a file matching a glob — renamed into place, or closed
/// after writing (close stops only when globs are given) — scoord takes a rollback point right
/// there, in the same barrier as any checkpoint, named after the file.
/// </summary>
internal sealed unsafe partial class AppCheckpoints(PathGlob[] globs, JournalIngest ingest, TraceeResumer resumer, CheckpointBarrier barrier, ILogger logger)
{
    /// <summary>Files matching a glob written since their last checkpoint: identity -> display path.</summary>
    private readonly Dictionary<(ulong Dev, ulong Ino), string> _dirty = new();

    public bool Enabled => globs.Length > 0;

    private bool Matches(ReadOnlySpan<byte> path)
    {
        if (path.IsEmpty)
        {
            return false;
        }

        string text = Encoding.UTF8.GetString(path);
        foreach (PathGlob g in globs)
        {
            if (g.IsMatch(text))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A content op through an fd on a file matching a glob was journaled: its close may end a checkpoint file.</summary>
    public void NoteWrite(in DecodedCall call)
    {
        if (call.Kind == ObjectKind.Regular && call.Ino != 0 && Matches(call.Path.Display))
        {
            _dirty[(call.Dev, call.Ino)] = Encoding.UTF8.GetString(call.Path.Display);
        }
    }

    /// <summary>close of an fd (seccomp stop): if it is a dirty checkpoint file, checkpoint after the close.</summary>
    public void OnClose(Tracee t, int fd)
    {
        if (_dirty.Count > 0)
        {
            int dup = t.DuplicateFd(fd);
            if (dup >= 0)
            {
                Interop.Stat st;
                bool dirty = fstat(dup, &st) == 0 && _dirty.ContainsKey((st.st_dev, st.st_ino));
                close(dup);
                if (dirty)
                {
                    t.AppCloseDev = st.st_dev;
                    t.AppCloseIno = st.st_ino;
                    t.AppClosePending = true;
                    resumer.Resume(t, PTRACE_SYSCALL, 0); // stop again when the close is done
                    return;
                }
            }
        }

        resumer.Resume(t, PTRACE_CONT, 0);
    }

    /// <summary>At the exit stop of an app op that may end a checkpoint file. Returns true when it took over the resume.</summary>
    public bool AtExit(Tracee t, bool failed)
    {
        if (t.AppClosePending)
        {
            t.AppClosePending = false;
            if (!failed && _dirty.Remove((t.AppCloseDev, t.AppCloseIno), out string? path))
            {
                Checkpoint(t, path);
                return true;
            }

            return false;
        }

        ReadOnlySpan<byte> renamedTo = t.Pending.Post2.DisplayPath;
        if (!failed && t.Pending.Op is OpCode.Rename or OpCode.Renameat or OpCode.Renameat2 && Matches(renamedTo))
        {
            string path = Encoding.UTF8.GetString(renamedTo);
            foreach (KeyValuePair<(ulong, ulong), string> kv in _dirty)
            {
                if (kv.Value == path)
                {
                    _dirty.Remove(kv.Key);
                    break;
                }
            }

            Checkpoint(t, path);
            return true;
        }

        return false;
    }

    /// <summary>Takes a checkpoint now, on the tracer thread, with <paramref name="stopped"/> held where it is.</summary>
    private void Checkpoint(Tracee stopped, string path)
    {
        string baseName = Path.GetFileName(path);
        string name = baseName;
        for (int n = 2; ingest.IsCheckpointNameUnusable(name); n++)
        {
            name = $"{baseName}-{n}";
            if (n > 100_000)
            {
                name = string.Empty; // the default ckpt-ID
                break;
            }
        }

        try
        {
            CheckpointInfo info = barrier.TakeHolding(stopped, name);
            Log.AppCheckpoint(logger, info.Id, path);
        }
        catch (ScoordException e)
        {
            Log.AppCheckpointFailed(logger, path, e.Message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 105, Level = LogLevel.Information, Message = "checkpoint {Id} taken after the app wrote {Path}")]
        public static partial void AppCheckpoint(ILogger logger, int id, string path);

        [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "no checkpoint after the app wrote {Path}: {Reason}")]
        public static partial void AppCheckpointFailed(ILogger logger, string path, string reason);
    }
}
