using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Scoord.Tests.Support;

/// <summary>
/// Runs the built `scoord` (the copy the test project gets from its reference to Scoord.Cli) as a real
/// process: a chosen journal (through $SCOORD_JOURNAL, unless the test passes --journal itself), working
/// directory, environment and stdin; stdout, stderr and the exit code are captured, with a timeout.
/// </summary>
public sealed class ScoordCli
{
    private static readonly Lazy<(string FileName, string[] Prefix)> s_command = new(FindScoord);

    public ScoordCli(string? journalDirectory = null, string? workingDirectory = null)
    {
        JournalDirectory = journalDirectory;
        WorkingDirectory = workingDirectory;
    }

    /// <summary>Put into $SCOORD_JOURNAL for the child; null leaves it unset (inherited values are always removed).</summary>
    public string? JournalDirectory { get; set; }

    public string? WorkingDirectory { get; set; }

    /// <summary>Extra environment for the child; a null value removes the variable.</summary>
    public Dictionary<string, string?> Environment { get; } = new(StringComparer.Ordinal);

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The scoord.dll or apphost the tests run.</summary>
    public static string BinaryPath => s_command.Value.Prefix.Length > 0 ? s_command.Value.Prefix[0] : s_command.Value.FileName;

    public CliResult Run(params string[] args) => Run(args, stdin: null);

    public CliResult Run(IEnumerable<string> args, string? stdin)
    {
        (string fileName, string[] prefix) = s_command.Value;
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardErrorEncoding = new UTF8Encoding(false),
            WorkingDirectory = WorkingDirectory ?? System.IO.Directory.GetCurrentDirectory(),
        };
        foreach (string p in prefix)
        {
            psi.ArgumentList.Add(p);
        }

        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment.Remove("SCOORD_JOURNAL");
        if (JournalDirectory is not null)
        {
            psi.Environment["SCOORD_JOURNAL"] = JournalDirectory;
        }

        foreach ((string key, string? value) in Environment)
        {
            if (value is null)
            {
                psi.Environment.Remove(key);
            }
            else
            {
                psi.Environment[key] = value;
            }
        }

        using var process = new Process { StartInfo = psi };
        process.Start();
        Task<string> readOut = process.StandardOutput.ReadToEndAsync();
        Task<string> readErr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
        }

        process.StandardInput.Close();

        if (!process.WaitForExit(Timeout))
        {
            string where = WhereItWaits(process.Id); // before the kill: what a hung scoord was waiting in
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException(
                $"scoord {string.Join(' ', args)} did not finish in {Timeout}\n--- its threads ---\n{where}\n--- stdout ---\n{SafeResult(readOut)}\n--- stderr ---\n{SafeResult(readErr)}");
        }

        process.WaitForExit();
        return new CliResult(process.ExitCode, readOut.GetAwaiter().GetResult(), readErr.GetAwaiter().GetResult());
    }

    /// <summary>Each thread's name, state and kernel wait channel (/proc), and the open fds: a hang's first clues.</summary>
    private static string WhereItWaits(int pid)
    {
        var text = new StringBuilder();
        try
        {
            foreach (string task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                string comm = File.ReadAllText(Path.Combine(task, "comm")).Trim();
                string stat = File.ReadAllText(Path.Combine(task, "stat"));
                string state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
                string wchan = File.ReadAllText(Path.Combine(task, "wchan")).Trim();
                text.Append(CultureInfo.InvariantCulture, $"{Path.GetFileName(task)} {comm} {state} {wchan}\n");
            }

            foreach (string fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
            {
                text.Append(CultureInfo.InvariantCulture, $"fd {Path.GetFileName(fd)} -> {new FileInfo(fd).LinkTarget}\n");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            text.Append("(/proc: " + e.Message + ")");
        }

        return text.ToString();
    }

    private static string SafeResult(Task<string> task) =>
        task.Wait(TimeSpan.FromSeconds(5)) ? task.Result : "(not read)";

    /// <summary>
    /// The apphost `scoord` next to the test assembly if the SDK copied it, else `dotnet scoord.dll`;
    /// as a last resort the Cli project's own output folder of the same configuration.
    /// </summary>
    private static (string, string[]) FindScoord()
    {
        // SCOORD_TEST_BINARY: run the suite against another scoord, e.g. the native one `dotnet publish` makes.
        if (System.Environment.GetEnvironmentVariable("SCOORD_TEST_BINARY") is { Length: > 0 } chosen)
        {
            return File.Exists(chosen) ? (Path.GetFullPath(chosen), []) : throw new FileNotFoundException("SCOORD_TEST_BINARY names no file", chosen);
        }

        string here = AppContext.BaseDirectory;
        string apphost = Path.Combine(here, "scoord");
        string dll = Path.Combine(here, "scoord.dll");
        if (File.Exists(dll) && File.Exists(Path.Combine(here, "scoord.runtimeconfig.json")))
        {
            if (File.Exists(apphost))
            {
                return (apphost, []);
            }

            return (DotnetHost(), [dll]);
        }

        // tests/Scoord.Tests/bin/<Config>/net10.0/linux-x64/ → src/Scoord.Cli/bin/<Config>/net10.0/linux-x64/
        var dir = new DirectoryInfo(here);
        string[] tail = [];
        while (dir is not null && dir.Name != "bin")
        {
            tail = [dir.Name, .. tail];
            dir = dir.Parent;
        }

        if (dir?.Parent?.Parent?.Parent is { } repo)
        {
            string cliOut = Path.Combine([repo.FullName, "src", "Scoord.Cli", "bin", .. tail]);
            string cliDll = Path.GetFullPath(Path.Combine(cliOut, "scoord.dll"));
            if (File.Exists(cliDll))
            {
                return (DotnetHost(), [cliDll]);
            }
        }

        throw new FileNotFoundException($"scoord.dll not found next to the tests ({here}); build the solution first");
    }

    private static string DotnetHost()
    {
        string? root = System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(root) && File.Exists(root))
        {
            return root;
        }

        string? fromProcess = System.Environment.ProcessPath;
        if (fromProcess is not null && Path.GetFileNameWithoutExtension(fromProcess) == "dotnet")
        {
            return fromProcess;
        }

        return "dotnet";
    }
}
