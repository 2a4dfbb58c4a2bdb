using System.Diagnostics;
using System.Text;
using Xunit;

namespace Scoord.Tests.Interceptors;

/// <summary>Compiles and runs small C programs for the ABI and kernel checks. A missing C compiler is a failure, not a skip.</summary>
internal static class NativeTool
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    /// <summary>The C compiler: $CC if set, else the first executable 'cc' on PATH. Fails the test when there is none.</summary>
    public static string RequireCc() => RequireCc(Environment.GetEnvironmentVariable("CC"), Environment.GetEnvironmentVariable("PATH"));

    /// <summary>The lookup with explicit $CC and $PATH values (testable without touching the process environment).</summary>
    public static string RequireCc(string? cc, string? path)
    {
        if (!string.IsNullOrWhiteSpace(cc))
        {
            string? resolved = cc.Contains('/', StringComparison.Ordinal) ? (File.Exists(cc) ? cc : null) : FindOnPath(cc, path);
            if (resolved is not null)
            {
                return resolved;
            }
        }

        string? found = FindOnPath("cc", path);
        if (found is null)
        {
            Assert.Fail("No C compiler: 'cc' was not found on PATH (and $CC is unset or invalid). scoord's build needs one anyway "
                + "(interceptors/native/scoord-launch.c); install it (Debian: apt-get install -y gcc) to run the ABI checks.");
        }

        return found!;
    }

    /// <summary>Writes <paramref name="source"/> to dir/name.c and compiles it; the assertion message carries the compiler's output.</summary>
    public static string Compile(string dir, string name, string source, params string[] extraFlags)
    {
        string cc = RequireCc();
        string src = Path.Combine(dir, name + ".c");
        string exe = Path.Combine(dir, name);
        File.WriteAllText(src, source);
        var args = new List<string> { "-std=gnu11", "-O0", "-Wall", "-o", exe, src };
        args.AddRange(extraFlags);
        ProcessResult r = Run(cc, args);
        if (r.ExitCode != 0 || !File.Exists(exe))
        {
            Assert.Fail($"{cc} failed to compile {src} (exit {r.ExitCode}):\n{r.Stderr}\n{r.Stdout}");
        }

        return exe;
    }

    public static ProcessResult Run(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        p.StandardInput.Close();
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(s_timeout))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{file} did not finish within {s_timeout.TotalSeconds} s");
        }

        p.WaitForExit();
        return new ProcessResult(p.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    /// <summary>C string literal for <paramref name="s"/> (ASCII identifiers and paths only).</summary>
    public static string CString(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in s)
        {
            if (c is '"' or '\\')
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        return sb.Append('"').ToString();
    }

    private static string? FindOnPath(string name, string? path)
    {
        foreach (string dir in (path ?? "/usr/local/bin:/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate) && (File.GetUnixFileMode(candidate) & UnixFileMode.UserExecute) != 0)
            {
                return candidate;
            }
        }

        return null;
    }
}

internal readonly record struct ProcessResult(int ExitCode, string Stdout, string Stderr);
