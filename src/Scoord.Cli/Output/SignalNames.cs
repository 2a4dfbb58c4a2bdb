using System.Globalization;

namespace Scoord.Cli.Output;

/// <summary>Linux x86_64 signal names (signal(7)); real-time signals read SIGRTMIN+n.</summary>
internal static class SignalNames
{
    private static readonly string[] s_names =
    [
        "0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
        "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
        "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
        "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
    ];

    private const int SigRtMin = 34;

    public static string Name(int signal) =>
        signal > 0 && signal < s_names.Length ? s_names[signal]
        : signal >= SigRtMin && signal <= 64 ? "SIGRTMIN+" + (signal - SigRtMin).ToString(CultureInfo.InvariantCulture)
        : "SIG" + signal.ToString(CultureInfo.InvariantCulture);
}
