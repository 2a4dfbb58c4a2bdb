namespace Scoord.Cli;

/// <summary>Exit codes of scoord's own errors (docs/cli.md, "Exit codes"). `run` otherwise exits with the program's status.</summary>
internal static class ExitCodes
{
    public const int Success = 0;

    /// <summary>A runtime error: no journal, a foreign or damaged journal, a journal in use, program not found.</summary>
    public const int Failure = 1;

    /// <summary>The command line is wrong: unknown command or option, bad value, missing program.</summary>
    public const int Usage = 2;

    /// <summary>An internal error (a bug in scoord): EX_SOFTWARE from sysexits.h.</summary>
    public const int Internal = 70;

    /// <summary>`log --follow` stopped by Ctrl-C: 128 + SIGINT, as a shell reports it.</summary>
    public const int Interrupted = 130;
}
