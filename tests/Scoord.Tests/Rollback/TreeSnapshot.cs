using System.Security.Cryptography;
using System.Text;
using Scoord.Interceptors;

namespace Scoord.Tests.Rollback;

/// <summary>
/// Everything a rollback must restore about a tree, per path (atime excluded: reading changes it):
/// type, mode, owner, size, mtime, content hash, symlink target, xattrs, nlink. Never follows symlinks.
/// </summary>
internal sealed unsafe class TreeSnapshot
{
    private readonly SortedDictionary<string, string> _entries = new(StringComparer.Ordinal);

    public static TreeSnapshot Take(string root)
    {
        var s = new TreeSnapshot();
        s.Add(root, ".");
        return s;
    }

    public IReadOnlyDictionary<string, string> Entries => _entries;

    public override string ToString() => string.Join('\n', _entries.Select(kv => kv.Key + "  " + kv.Value));

    /// <summary>Asserts equality with a readable listing of the differences.</summary>
    public void AssertEqual(TreeSnapshot actual)
    {
        var diffs = new List<string>();
        foreach (string k in _entries.Keys.Union(actual._entries.Keys).Order(StringComparer.Ordinal))
        {
            _entries.TryGetValue(k, out string? want);
            actual._entries.TryGetValue(k, out string? got);
            if (want != got)
            {
                diffs.Add($"{k}\n   expected {want ?? "(absent)"}\n   actual   {got ?? "(absent)"}");
            }
        }

        Assert.True(diffs.Count == 0, "tree differs from the snapshot:\n" + string.Join('\n', diffs));
    }

    private void Add(string full, string rel)
    {
        Interop.Stat st;
        byte[] p = Encoding.UTF8.GetBytes(full + "\0");
        fixed (byte* pp = p)
        {
            Assert.Equal(0, Interop.Libc.fstatat(Interop.Libc.AT_FDCWD, pp, &st, Interop.Libc.AT_SYMLINK_NOFOLLOW));
        }

        uint type = st.st_mode & Interop.Libc.S_IFMT;
        var sb = new StringBuilder();
        sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"mode={Convert.ToString(st.st_mode, 8)} uid={st.st_uid} gid={st.st_gid}");
        if (type != Interop.Libc.S_IFDIR)
        {
            sb.Append(System.Globalization.CultureInfo.InvariantCulture, $" size={st.st_size} nlink={st.st_nlink}");
        }

        // A directory's mtime is compared too: entries created and removed again change it.
        sb.Append(System.Globalization.CultureInfo.InvariantCulture, $" mtime={st.st_mtime_sec}.{st.st_mtime_nsec:D9}");
        if (type == Interop.Libc.S_IFREG)
        {
            using FileStream f = new(full, FileMode.Open, FileAccess.Read);
            sb.Append(" sha=").Append(Convert.ToHexString(SHA256.HashData(f))[..16]);
        }
        else if (type == Interop.Libc.S_IFLNK)
        {
            sb.Append(" -> ").Append(new FileInfo(full).LinkTarget);
        }

        sb.Append(Xattrs(p));
        if (rel != ".")
        {
            _entries[rel] = sb.ToString();
        }
        else
        {
            _entries["."] = sb.ToString();
        }

        if (type == Interop.Libc.S_IFDIR)
        {
            foreach (string child in Directory.EnumerateFileSystemEntries(full).Order(StringComparer.Ordinal))
            {
                string name = Path.GetFileName(child);
                Add(child, rel == "." ? name : rel + "/" + name);
            }
        }
    }

    private static string Xattrs(byte[] path)
    {
        byte[] names = new byte[4096];
        nint n;
        fixed (byte* pp = path)
        fixed (byte* np = names)
        {
            n = Interop.Libc.llistxattr(pp, np, (nuint)names.Length);
        }

        if (n <= 0)
        {
            return string.Empty;
        }

        var list = new List<string>();
        foreach (string name in Encoding.UTF8.GetString(names, 0, (int)n).Split('\0', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal))
        {
            byte[] value = new byte[4096];
            byte[] nameZ = Encoding.UTF8.GetBytes(name + "\0");
            nint len;
            fixed (byte* pp = path)
            fixed (byte* np = nameZ)
            fixed (byte* vp = value)
            {
                len = Interop.Libc.lgetxattr(pp, np, vp, (nuint)value.Length);
            }

            list.Add(name + "=" + (len >= 0 ? Convert.ToHexString(value, 0, (int)len) : "?"));
        }

        return " xattrs[" + string.Join(',', list) + "]";
    }

    /// <summary>st_blocks of a file (512-byte units).</summary>
    public static long Blocks(string path)
    {
        Interop.Stat st;
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* pp = p)
        {
            Assert.Equal(0, Interop.Libc.fstatat(Interop.Libc.AT_FDCWD, pp, &st, Interop.Libc.AT_SYMLINK_NOFOLLOW));
        }

        return st.st_blocks;
    }
}
