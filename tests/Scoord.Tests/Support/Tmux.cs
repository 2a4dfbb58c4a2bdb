using System.Diagnostics;

namespace Scoord.Tests.Support;

/// <summary>A real terminal for interactive tests: tmux sessions, keys sent, the screen read back.</summary>
public static class Tmux
{
    public static string Run(params string[] args)
    {
        var psi = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return output;
    }

    /// <summary>Waits (at most 60 s) until <paramref name="text"/> is on the screen of <paramref name="session"/>; returns the screen.</summary>
    public static string WaitForScreen(string session, string text)
    {
        var sw = Stopwatch.StartNew();
        string screen = "";
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            screen = Run("capture-pane", "-p", "-t", session);
            if (screen.Contains(text, StringComparison.Ordinal))
            {
                return screen;
            }

            Thread.Sleep(100);
        }

        throw new Xunit.Sdk.XunitException($"'{text}' never appeared on the terminal:\n{screen}");
    }

    /// <summary>How the shell in a tmux session starts scoord.</summary>
    public static string ScoordCommand()
    {
        string bin = ScoordCli.BinaryPath;
        return bin.EndsWith(".dll", StringComparison.Ordinal) ? $"dotnet {bin}" : bin;
    }
}
