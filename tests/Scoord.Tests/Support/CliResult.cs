namespace Scoord.Tests.Support;

/// <summary>What one run of the scoord binary produced.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public string[] StdoutLines => SplitLines(Stdout);

    public string[] StderrLines => SplitLines(Stderr);

    /// <summary>The `log --json` output, one parsed line per operation.</summary>
    public IReadOnlyList<LogLine> LogLines => LogLine.ParseAll(Stdout);

    public override string ToString() =>
        $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";

    private static string[] SplitLines(string text) =>
        text.Length == 0 ? [] : text.TrimEnd('\n').Split('\n');
}
