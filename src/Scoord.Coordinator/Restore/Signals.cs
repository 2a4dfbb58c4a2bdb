using System.Globalization;

namespace Scoord.Coordinator.Restore;

/// <summary>Linux x86_64 signal numbers and names (signal(7)) for `--checkpoint-signal`.</summary>
public static class Signals
{
    private const int SigRtMin = 34;
    private const int SigRtMax = 64;

    private static readonly string[] s_names =
    [
        "0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
        "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
        "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
        "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
    ];

    /// <summary>"SIGUSR1" for 10; "SIGRTMIN+2" for 36.</summary>
    public static string Name(int signal) =>
        signal > 0 && signal < s_names.Length ? s_names[signal]
        : signal >= SigRtMin && signal <= SigRtMax ? "SIGRTMIN+" + (signal - SigRtMin).ToString(CultureInfo.InvariantCulture)
        : "SIG" + signal.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Parses USR1, SIGUSR1, usr1, 10, RTMIN+2 or SIGRTMIN+2. SIGKILL and SIGSTOP cannot be caught and are
    /// refused, as are signals outside 1..64.
    /// </summary>
    public static bool TryParse(string text, out int signal, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        signal = 0;
        error = null;
        string t = text.Trim().ToUpperInvariant();
        if (t.Length == 0)
        {
            error = "empty signal";
            return false;
        }

        if (int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out int n))
        {
            signal = n;
        }
        else
        {
            string name = t.StartsWith("SIG", StringComparison.Ordinal) ? t : "SIG" + t;
            signal = Array.IndexOf(s_names, name);
            if (signal <= 0 && name.StartsWith("SIGRTMIN", StringComparison.Ordinal))
            {
                string rest = name["SIGRTMIN".Length..];
                if (rest.Length == 0)
                {
                    signal = SigRtMin;
                }
                else if (rest[0] == '+' && int.TryParse(rest.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out int k))
                {
                    signal = SigRtMin + k;
                }
            }
        }

        if (signal < 1 || signal > SigRtMax)
        {
            error = $"'{text}' is not a signal (use a name such as USR1 or SIGUSR1, or a number)";
            signal = 0;
            return false;
        }

        if (signal is 9 or 19)
        {
            error = $"{Name(signal)} cannot be caught; the app could not answer it with a checkpoint";
            signal = 0;
            return false;
        }

        return true;
    }
}
