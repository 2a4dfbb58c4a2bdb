using System.Text;
using Scoord.Interceptors.Decoding;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal.Model;

namespace Scoord.Tests.Journal;

/// <summary>A temporary directory removed at the end of a test.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "scoord-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static class Samples
{
    public static OpIntent Intent(int i, OpCode op = OpCode.Openat) => new()
    {
        TimeNs = 1_700_000_000_000_000_000 + i,
        Pid = 1000 + (i % 7),
        Tid = 2000 + i,
        Op = op,
        Flags = IntentFlags.None,
        Fd = -100,
        OpFlags = 0x241,
        Mode = 0x1A4,
        Offset = -1,
        Length = i * 10,
        Dev = 2049,
        Ino = (ulong)(5000 + i),
        Kind = ObjectKind.Regular,
    };

    public static OpCompletion Completion(int i, int errno = 0) => new()
    {
        TimeNs = 1_700_000_000_000_000_500 + i,
        Result = errno == 0 ? 3 : -1,
        Errno = errno,
        Dev = 2049,
        Ino = (ulong)(5000 + i),
    };

    public static byte[] PathOf(int i) => Encoding.UTF8.GetBytes($"/tmp/work/file-{i}.txt");

    /// <summary>
    /// Copies a directory byte for byte with cp -a. (.NET's File.Copy takes a shared flock on the
    /// source and fails on scoord.lock while a coordinator holds it; cp does not lock.)
    /// </summary>
    public static void CopyDirectory(string from, string to)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("cp") { ArgumentList = { "-a", from, to } };
        using var cp = System.Diagnostics.Process.Start(psi)!;
        cp.WaitForExit();
        if (cp.ExitCode != 0)
        {
            throw new IOException($"cp -a {from} {to} exited with {cp.ExitCode}");
        }
    }
}
