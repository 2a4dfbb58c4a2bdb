using System.Text;
using Scoord.Cli;

namespace Scoord.Fuzz.Targets;

/// <summary>
/// Fuzz target for the command line: the input, split at NUL bytes, is argv (invalid UTF-8 becomes
/// U+FFFD, as the runtime decodes it). It goes through the real parser and every command's argument
/// checks in <see cref="CliApplication.ValidateOnly"/> mode, which runs no command (no journal is
/// opened, no program started). Invariants: no exception escapes; the exit code is 0 (valid) or 2 (a
/// usage error, never 1 or 70 for mere arguments); a usage error is exactly one stderr line
/// "scoord: ...".
/// </summary>
public static class CliArgsTarget
{
    public static void Fuzz(ReadOnlySpan<byte> input)
    {
        string[] argv = input.IsEmpty ? [] : Encoding.UTF8.GetString(input).Split('\0');
        using var stderr = new StringWriter();
        int exit = new CliApplication(stderr) { ValidateOnly = true }.Run(argv);
        string err = stderr.ToString();
        if (exit == 0)
        {
            if (err.Length != 0)
            {
                throw new InvalidOperationException($"exit 0 with an error: {err}");
            }

            return;
        }

        if (exit != 2)
        {
            throw new InvalidOperationException($"exit {exit} for a command line: {err}");
        }

        if (!err.StartsWith("scoord: ", StringComparison.Ordinal) || err.IndexOf('\n') != err.Length - 1)
        {
            throw new InvalidOperationException($"a usage error must be one line 'scoord: ...', got: {err}");
        }
    }
}
