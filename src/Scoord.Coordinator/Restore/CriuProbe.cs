using System.Diagnostics;

namespace Scoord.Coordinator.Restore;

/// <summary>
/// Whether CRIU can work on this machine: `criu check` must pass (docs/synchronizer.md, "CRIU").
/// On Debian 12 (criu 3.17) with this machine's kernel it does not: criu cannot parse the kernel's vDSO
/// layout ("vdso: Unexpected rt vDSO area bounds").
/// </summary>
public static class CriuProbe
{
    private static readonly string[] s_extraDirs = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

    /// <summary>The criu binary on PATH (or in an sbin directory), or null.</summary>
    public static string? Locate()
    {
        IEnumerable<string> dirs = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(s_extraDirs);
        foreach (string dir in dirs)
        {
            string candidate = Path.Combine(dir, "criu");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>
    /// Runs `criu check`. True when it passes; otherwise <paramref name="reason"/> says why, in one line:
    /// "criu is not installed", or "`criu check` failed: FIRST ERROR LINE". Must not be called while the
    /// tracer runs (it starts a child with System.Diagnostics.Process, whose SIGCHLD reaping and the
    /// tracer's waitpid must not meet).
    /// </summary>
    public static bool IsUsable(out string reason)
    {
        string? criu = Locate();
        if (criu is null)
        {
            reason = "criu is not installed (no criu on PATH or in /usr/sbin)";
            return false;
        }

        var psi = new ProcessStartInfo(criu)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("check");
        string stdout;
        string stderr;
        int exit;
        try
        {
            using CoordinatorPriority.BaseScope atBase = CoordinatorPriority.AtBase();
            using Process p = Process.Start(psi)!;
            p.StandardInput.Close();
            Task<string> err = p.StandardError.ReadToEndAsync();
            Task<string> outp = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                p.Kill(entireProcessTree: true);
                reason = "`criu check` did not finish within 30s";
                return false;
            }

            p.WaitForExit();
            stdout = outp.GetAwaiter().GetResult();
            stderr = err.GetAwaiter().GetResult();
            exit = p.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            reason = $"cannot run {criu}: {e.Message}";
            return false;
        }

        if (exit == 0)
        {
            reason = string.Empty;
            return true;
        }

        reason = "`criu check` failed: " + FirstError(stderr + "\n" + stdout, exit);
        return false;
    }

    /// <summary>
    /// The first "Error (...): message" line that says something (criu first reports its helper children's
    /// "exited, status=1", which says nothing), without the source location; else the first non-empty line.
    /// </summary>
    internal static string FirstError(string output, int exit)
    {
        string? firstError = null;
        string? firstLine = null;
        foreach (string raw in output.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            firstLine ??= line;
            if (!line.StartsWith("Error", StringComparison.Ordinal))
            {
                continue;
            }

            int colon = line.IndexOf("): ", StringComparison.Ordinal);
            string message = colon > 0 ? line[(colon + 3)..].Trim() : line;
            if (message.StartsWith("exited, status=", StringComparison.Ordinal))
            {
                firstError ??= message;
                continue;
            }

            return message;
        }

        return firstError ?? firstLine ?? $"exit status {exit}, no output";
    }
}

/// <summary>Checks at the start of `scoord run` that the chosen memory provider can work here.</summary>
public static class MemoryProviderCheck
{
    /// <summary>Throws <see cref="ScoordException"/> (one line) when the provider cannot be used.</summary>
    public static void Ensure(RunOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        switch (options.Memory)
        {
            case MemoryProvider.Criu:
                if (!CriuProbe.IsUsable(out string reason))
                {
                    throw new Journal.ScoordException("--memory criu: CRIU is not usable here: " + reason);
                }

                throw new Journal.ScoordException("--memory criu: `criu check` passes, but this scoord does not implement the CRIU provider yet (see docs/synchronizer.md); use --memory app or none");
            case MemoryProvider.App when options.AppCheckpoint.Count == 0:
                throw new Journal.ScoordException("--memory app needs --app-checkpoint GLOB (the files the app checkpoints itself into)");
            default:
                if (options.CheckpointSignal is not null && (options.AppCheckpoint.Count == 0 || options.CheckpointEvery is null))
                {
                    throw new Journal.ScoordException("--checkpoint-signal needs --checkpoint-every DURATION and --app-checkpoint GLOB");
                }

                break;
        }
    }
}
