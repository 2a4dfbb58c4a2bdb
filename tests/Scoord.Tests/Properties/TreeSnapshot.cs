using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Scoord.Tests.Properties;

/// <summary>
/// A snapshot of a directory tree, as a careful user would compare two states of it: for every path
/// (lstat, symlinks never followed) its type, permission bits, owner, link count, mtime (ns), xattrs
/// (all of them, sorted, hex values), and for regular files the size, sha256, data extents (so holes
/// stay holes) and the set of tree paths sharing the inode (hard links); for symlinks the target text;
/// for directories the sorted entry names.
/// <para>
/// Not compared, on purpose: atime (every read of the snapshot itself changes it), ctime (the kernel
/// sets it on every change and offers no way to set it back, so no rollback can restore it), and the
/// st_size of directories (ext4 never shrinks a directory's blocks; it is not content the app sees).
/// </para>
/// The same Python function is used inside a traced program (right after each checkpoint) and by the
/// tests after a rollback, so both sides are measured by identical code.
/// </summary>
public sealed class TreeSnapshot
{
    /// <summary>
    /// Defines <c>snapshot(root) -&gt; dict</c>; run as <c>python3 -c SOURCE ROOT</c> it prints the
    /// snapshot of ROOT as JSON.
    /// </summary>
    public const string PythonSource = """
import os, sys, stat, errno, hashlib, json

def _extents(fd, size):
    res = []
    off = 0
    while off < size:
        try:
            d = os.lseek(fd, off, os.SEEK_DATA)
        except OSError as x:
            if x.errno == errno.ENXIO:
                break
            raise
        h = os.lseek(fd, d, os.SEEK_HOLE)
        res.append([d, h])
        off = h
    return res

def snapshot(root):
    out = {}
    inodes = {}
    def visit(full):
        r = os.path.relpath(full, root)
        st = os.lstat(full)
        m = st.st_mode
        if stat.S_ISREG(m): t = 'file'
        elif stat.S_ISDIR(m): t = 'dir'
        elif stat.S_ISLNK(m): t = 'symlink'
        else: t = 'other-%o' % stat.S_IFMT(m)
        e = {'type': t, 'mode': '%04o' % stat.S_IMODE(m), 'uid': st.st_uid, 'gid': st.st_gid,
             'nlink': st.st_nlink, 'mtime_ns': st.st_mtime_ns}
        try:
            names = sorted(os.listxattr(full, follow_symlinks=False))
            e['xattrs'] = {n: os.getxattr(full, n, follow_symlinks=False).hex() for n in names}
        except OSError as x:
            e['xattrs'] = 'error ' + errno.errorcode.get(x.errno, str(x.errno))
        names = []
        if t == 'file':
            e['size'] = st.st_size
            fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                h = hashlib.sha256()
                while True:
                    b = os.read(fd, 1 << 16)
                    if not b:
                        break
                    h.update(b)
                e['sha256'] = h.hexdigest()
                e['data_extents'] = _extents(fd, st.st_size)
            finally:
                os.close(fd)
            inodes.setdefault((st.st_dev, st.st_ino), []).append(r)
        elif t == 'symlink':
            e['target'] = os.readlink(full)
        elif t == 'dir':
            names = sorted(os.listdir(full))
            e['entries'] = names
        out[r] = e
        for n in names:
            visit(os.path.join(full, n))
    visit(root)
    for paths in inodes.values():
        paths.sort()
        for p in paths:
            out[p]['hardlinks'] = paths
    return out

if __name__ == '__main__' and len(sys.argv) == 2:
    json.dump(snapshot(sys.argv[1]), sys.stdout, sort_keys=True)
""";

    private static readonly Lazy<string> s_python = new(ResolvePython);

    private TreeSnapshot(SortedDictionary<string, SortedDictionary<string, string>> entries)
    {
        Entries = entries;
    }

    /// <summary>Relative path ("." for the root) → field → the field's JSON text.</summary>
    public SortedDictionary<string, SortedDictionary<string, string>> Entries { get; }

    /// <summary>
    /// The real interpreter behind `python3` on PATH (a pyenv shim is a shell script; tracing it would
    /// journal the shim's own work, so the tests always run the interpreter itself).
    /// </summary>
    public static string Python => s_python.Value;

    /// <summary>Snapshot of ROOT, taken by python3 outside scoord.</summary>
    public static TreeSnapshot Take(string root)
    {
        ProcResult r = Proc.Run(Python, ["-c", PythonSource, root]);
        if (r.ExitCode != 0)
        {
            throw new InvalidOperationException($"snapshot of {root} failed: {r}");
        }

        return Parse(r.Stdout);
    }

    public static TreeSnapshot Parse(string json)
    {
        var entries = new SortedDictionary<string, SortedDictionary<string, string>>(StringComparer.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(json);
        foreach (JsonProperty path in doc.RootElement.EnumerateObject())
        {
            var fields = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonProperty field in path.Value.EnumerateObject())
            {
                fields[field.Name] = field.Value.GetRawText();
            }

            entries[path.Name] = fields;
        }

        return new TreeSnapshot(entries);
    }

    public static TreeSnapshot Load(string file) => Parse(File.ReadAllText(file));

    /// <summary>Empty when equal; else one line per difference (expected = the checkpoint's state).</summary>
    public static string Diff(TreeSnapshot expected, TreeSnapshot actual, string expectedLabel = "checkpoint", string actualLabel = "after rollback")
    {
        var sb = new StringBuilder();
        foreach ((string path, SortedDictionary<string, string> want) in expected.Entries)
        {
            if (!actual.Entries.TryGetValue(path, out SortedDictionary<string, string>? got))
            {
                sb.Append("  ").Append(path).Append(": missing ").Append(actualLabel).Append("; at ").Append(expectedLabel).Append(' ').AppendLine(Describe(want));
                continue;
            }

            foreach (string field in want.Keys.Union(got.Keys).Order(StringComparer.Ordinal))
            {
                string w = want.GetValueOrDefault(field, "(absent)");
                string g = got.GetValueOrDefault(field, "(absent)");
                if (w != g)
                {
                    sb.Append("  ").Append(path).Append(": ").Append(field).Append(": ").Append(expectedLabel).Append(' ').Append(Shorten(w))
                        .Append(", ").Append(actualLabel).Append(' ').AppendLine(Shorten(g));
                }
            }
        }

        foreach ((string path, SortedDictionary<string, string> got) in actual.Entries)
        {
            if (!expected.Entries.ContainsKey(path))
            {
                sb.Append("  ").Append(path).Append(": not at ").Append(expectedLabel).Append(", present ").Append(actualLabel).Append(' ').AppendLine(Describe(got));
            }
        }

        return sb.ToString();
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach ((string path, SortedDictionary<string, string> fields) in Entries)
        {
            sb.Append("  ").Append(path).Append(' ').AppendLine(Describe(fields));
        }

        return sb.ToString();
    }

    private static string Describe(SortedDictionary<string, string> fields) =>
        "{" + string.Join(", ", fields.Select(f => f.Key + ": " + Shorten(f.Value))) + "}";

    private static string Shorten(string json) => json.Length <= 200 ? json : json[..200] + "…";

    private static string ResolvePython()
    {
        ProcResult r = Proc.Run("python3", ["-c", "import sys; print(sys.executable)"]);
        if (r.ExitCode != 0 || r.Stdout.Trim().Length == 0)
        {
            throw new InvalidOperationException("python3 is needed on PATH for the property and scenario tests: " + r);
        }

        return r.Stdout.Trim();
    }
}

/// <summary>What one helper process produced.</summary>
public sealed record ProcResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>Runs a helper program (python3, git, sqlite3, tar...) outside scoord and captures its output.</summary>
public static class Proc
{
    public static ProcResult Run(string file, IEnumerable<string> args, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardErrorEncoding = new UTF8Encoding(false),
        };
        if (workingDirectory is not null)
        {
            psi.WorkingDirectory = workingDirectory;
        }

        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment.Remove("SCOORD_JOURNAL");
        if (environment is not null)
        {
            foreach ((string k, string v) in environment)
            {
                psi.Environment[k] = v;
            }
        }

        using var p = new Process { StartInfo = psi };
        p.Start();
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        p.StandardInput.Close();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromSeconds(120)))
        {
            // What it was doing tells a slow machine (R, D) from a process someone stopped or traced (T, t).
            string state = Describe(p.Id);
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            throw new TimeoutException($"{file} {string.Join(' ', psi.ArgumentList)} did not finish ({state}; load {Load()})");
        }

        p.WaitForExit();
        return new ProcResult(p.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    private static string Describe(int pid)
    {
        try
        {
            string status = File.ReadAllText($"/proc/{pid}/status");
            string Field(string name) => status.Split('\n').FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.Ordinal))?[(name.Length + 1)..].Trim() ?? "?";
            string wchan = File.Exists($"/proc/{pid}/wchan") ? File.ReadAllText($"/proc/{pid}/wchan") : "?";
            return $"pid {pid} state {Field("State")}, tracer {Field("TracerPid")}, wchan {wchan}";
        }
        catch (IOException e)
        {
            return $"pid {pid}: {e.Message}";
        }
    }

    private static string Load()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Trim();
        }
        catch (IOException)
        {
            return "?";
        }
    }

    /// <summary>`sh -c script` outside scoord; fails the test with the output when it exits non-zero.</summary>
    public static string Sh(string script, string workingDirectory)
    {
        ProcResult r = Run("sh", ["-c", script], workingDirectory);
        Assert.True(r.ExitCode == 0, $"sh -c '{script}' failed: {r}");
        return r.Stdout;
    }
}
