namespace Scoord.Tests.Support;

/// <summary>A fresh temporary directory, deleted (even if a test made parts of it read-only) at dispose.</summary>
public sealed class TempTree : IDisposable
{
    public TempTree(string prefix = "scoord-test-")
    {
        Path = Directory.CreateTempSubdirectory(prefix).FullName;
    }

    /// <summary>Absolute path of the directory, without a trailing slash.</summary>
    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>Creates (or empties) a subdirectory and returns its absolute path.</summary>
    public string CreateDirectory(string relative)
    {
        string full = Combine(relative);
        Directory.CreateDirectory(full);
        return full;
    }

    public string WriteFile(string relative, string content)
    {
        string full = Combine(relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return full;
    }

    public void Dispose()
    {
        if (!Directory.Exists(Path))
        {
            return;
        }

        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            // A test may have chmod'ed something; give the owner access back and try once more.
            foreach (string dir in Directory.EnumerateDirectories(Path, "*", SearchOption.AllDirectories))
            {
                TryMakeWritable(dir);
            }

            TryMakeWritable(Path);
            try
            {
                Directory.Delete(Path, recursive: true);
            }
            catch (Exception again) when (again is UnauthorizedAccessException or IOException)
            {
                // Leave it: a temp dir is not worth failing a test over.
            }
        }
    }

    private static void TryMakeWritable(string dir)
    {
        try
        {
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
        }
    }
}
