using System.Diagnostics;

namespace Scoord.Tests.Support;

/// <summary>`scoord ARGS` started in the background (a run the test talks to while it goes on).</summary>
public static class ScoordProcess
{
    /// <summary>
    /// The start info of `scoord ARGS` in <paramref name="cwd"/> with SCOORD_JOURNAL=<paramref name="journal"/>
    /// (the apphost, or `dotnet scoord.dll`); stdout and stderr redirected unless <paramref name="redirectOutput"/> is false.
    /// </summary>
    public static ProcessStartInfo StartInfo(string journal, string cwd, IEnumerable<string> args, bool redirectOutput = true, bool redirectInput = false)
    {
        string bin = ScoordCli.BinaryPath;
        bool dll = bin.EndsWith(".dll", StringComparison.Ordinal);
        var psi = new ProcessStartInfo(dll ? "dotnet" : bin)
        {
            WorkingDirectory = cwd,
            UseShellExecute = false,
            RedirectStandardOutput = redirectOutput,
            RedirectStandardError = redirectOutput,
            RedirectStandardInput = redirectInput,
        };
        if (dll)
        {
            psi.ArgumentList.Add(bin);
        }

        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["SCOORD_JOURNAL"] = journal;
        return psi;
    }

    /// <summary>Starts `scoord ARGS` (see <see cref="StartInfo"/>) with <paramref name="env"/> added to its environment.</summary>
    public static Process Start(string journal, string cwd, IEnumerable<string> args, IDictionary<string, string>? env = null, bool redirectOutput = true, bool redirectInput = false)
    {
        ProcessStartInfo psi = StartInfo(journal, cwd, args, redirectOutput, redirectInput);
        foreach (KeyValuePair<string, string> kv in env ?? new Dictionary<string, string>())
        {
            psi.Environment[kv.Key] = kv.Value;
        }

        return Process.Start(psi)!;
    }
}
