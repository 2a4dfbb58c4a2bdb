using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Scoord.Interceptors;
using Scoord.Journal;
using Scoord.Journal.Model;
using Scoord.Interceptors.Syscalls;
using Scoord.Interceptors.Decoding;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Tracing;

/// <summary>
/// Application checkpoints (--app-checkpoint GLOB): many programs checkpoint their own memory to
/// files. When the app finishes writing a file matching a glob — renamed into place, or closed
/// after writing (close stops only when globs are given) — scoord takes a rollback point right
/// there, in the same barrier as any checkpoint, named after the file. And the --on-checkpoint
/// hook, run inside every barrier once all tracees are stopped and before the record is written:
/// a hook that fails leaves no checkpoint behind.
/// </summary>
internal sealed unsafe partial class Tracer
{
    /// <summary>Files matching a glob written since their last checkpoint: identity -> display path.</summary>
    private readonly Dictionary<(ulong Dev, ulong Ino), string> _dirtyAppFiles = new();

    private bool AppCheckpointsEnabled => _options.AppCheckpointGlobs.Length > 0;

    private bool MatchesAppGlob(ReadOnlySpan<byte> path)
    {
        if (path.IsEmpty)
        {
            return false;
        }

        string text = Encoding.UTF8.GetString(path);
        foreach (PathGlob g in _options.AppCheckpointGlobs)
        {
            if (g.IsMatch(text))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A content op on a file matching a glob was journaled: its close may end a checkpoint file.</summary>
    private void NoteAppFileWrite(in OpIntent intent, ReadOnlySpan<byte> display)
    {
        if (intent.Kind == ObjectKind.Regular && intent.Ino != 0 && MatchesAppGlob(display))
        {
            _dirtyAppFiles[(intent.Dev, intent.Ino)] = Encoding.UTF8.GetString(display);
        }
    }

    /// <summary>close of an fd (seccomp stop): if it is a dirty checkpoint file, checkpoint after the close.</summary>
    private void OnClose(Tracee t)
    {
        if (_dirtyAppFiles.Count > 0)
        {
            int dup = GetFd(t, (int)_info.args[0]);
            if (dup >= 0)
            {
                Interop.Stat st;
                bool dirty = fstat(dup, &st) == 0 && _dirtyAppFiles.ContainsKey((st.st_dev, st.st_ino));
                close(dup);
                if (dirty)
                {
                    t.AppCloseDev = st.st_dev;
                    t.AppCloseIno = st.st_ino;
                    t.AppClosePending = true;
                    Resume(t, PTRACE_SYSCALL, 0); // stop again when the close is done
                    return;
                }
            }
        }

        Resume(t, PTRACE_CONT, 0);
    }

    /// <summary>At the exit stop of an app op that may end a checkpoint file. Returns true when it took over the resume.</summary>
    private bool MaybeAppCheckpointAtExit(Tracee t, bool failed)
    {
        if (t.AppClosePending)
        {
            t.AppClosePending = false;
            if (!failed && _dirtyAppFiles.Remove((t.AppCloseDev, t.AppCloseIno), out string? path))
            {
                AppCheckpoint(t, path);
                return true;
            }

            return false;
        }

        if (!failed && t.PendingOp is OpCode.Rename or OpCode.Renameat or OpCode.Renameat2
            && MatchesAppGlob(t.Post2.Display.AsSpan(0, t.Post2.DisplayLen)))
        {
            string path = Encoding.UTF8.GetString(t.Post2.Display.AsSpan(0, t.Post2.DisplayLen));
            foreach (KeyValuePair<(ulong, ulong), string> kv in _dirtyAppFiles)
            {
                if (kv.Value == path)
                {
                    _dirtyAppFiles.Remove(kv.Key);
                    break;
                }
            }

            AppCheckpoint(t, path);
            return true;
        }

        return false;
    }

    /// <summary>Takes a checkpoint now, on the tracer thread, with <paramref name="stopped"/> held where it is.</summary>
    private void AppCheckpoint(Tracee stopped, string path)
    {
        stopped.Held = true;
        stopped.HeldRequest = PTRACE_CONT;
        stopped.HeldSignal = 0;
        string baseName = Path.GetFileName(path);
        string name = baseName;
        for (int n = 2; _writer.IsCheckpointNameUnusable(name); n++)
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
            CheckpointInfo info = Barrier(name);
            Log.AppCheckpoint(_logger, info.Id, path);
        }
        catch (ScoordException e)
        {
            Log.AppCheckpointFailed(_logger, path, e.Message);
        }
    }

    /// <summary>--on-checkpoint CMD inside the barrier: all tracees stopped, the record not yet written.</summary>
    private void RunCheckpointHook()
    {
        string? command = _options.OnCheckpoint;
        if (string.IsNullOrEmpty(command))
        {
            return;
        }

        var pids = new StringBuilder();
        foreach (int tgid in _processes.Keys)
        {
            pids.Append(pids.Length == 0 ? string.Empty : " ").Append(tgid);
        }

        var env = new List<string>();
        foreach (System.Collections.DictionaryEntry kv in Environment.GetEnvironmentVariables())
        {
            env.Add((string)kv.Key + "=" + (string?)kv.Value);
        }

        env.Add("SCOORD_CHECKPOINT_ID=" + _writer.NextCheckpointId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        env.Add("SCOORD_PIDS=" + pids);
        int pid = Launch.Launcher.SpawnPlainWithEnv("/bin/sh", ["sh", "-c", command], env);
        if (pid <= 0)
        {
            throw new ScoordException($"cannot run the checkpoint hook `{command}`; no checkpoint taken");
        }

        int status;
        while (waitpid(pid, &status, 0) < 0 && Interop.LastErrno == Errno.EINTR)
        {
        }

        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        {
            string how = WIFEXITED(status) ? $"status {WEXITSTATUS(status)}" : $"signal {WTERMSIG(status)}";
            throw new ScoordException($"checkpoint hook `{command}` failed with {how}; no checkpoint taken");
        }
    }

    private static partial class AppLog
    {
    }
}
