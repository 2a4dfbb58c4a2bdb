using System.Text;
using Scoord.Coordinator.Ingest;
using Scoord.Interceptors;
using Scoord.Journal;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Tracing;

/// <summary>
/// --on-checkpoint CMD: run inside every barrier once all tracees are stopped and before the record is
/// written, with the checkpoint id and the pids in its environment. A hook that fails leaves no
/// checkpoint behind.
/// </summary>
internal sealed unsafe class CheckpointHook(string? command, TraceeTable tracees, JournalIngest ingest)
{
    /// <summary>A hook was asked for: the barrier stops every thread for it.</summary>
    public bool Configured => !string.IsNullOrEmpty(command);

    /// <summary>Runs the hook (if any); throws <see cref="ScoordException"/> when it fails.</summary>
    public void Run()
    {
        if (string.IsNullOrEmpty(command))
        {
            return;
        }

        var pids = new StringBuilder();
        foreach (int tgid in tracees.Processes.Keys)
        {
            pids.Append(pids.Length == 0 ? string.Empty : " ").Append(tgid);
        }

        var env = new List<string>();
        foreach (System.Collections.DictionaryEntry kv in Environment.GetEnvironmentVariables())
        {
            env.Add((string)kv.Key + "=" + (string?)kv.Value);
        }

        env.Add("SCOORD_CHECKPOINT_ID=" + ingest.NextCheckpointId.ToString(System.Globalization.CultureInfo.InvariantCulture));
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
}
