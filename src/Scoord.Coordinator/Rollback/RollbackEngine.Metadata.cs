using Scoord.Interceptors;
using Scoord.Journal;
using Scoord.Journal.Undo;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Rollback;

/// <summary>
/// Metadata last, per object that existed at the checkpoint, children before their parents: owner,
/// mode (a chown clears set-id bits), xattrs exactly as recorded, then atime and mtime. ctime cannot be set.
/// </summary>
public sealed unsafe partial class RollbackEngine
{
    private void RestoreMetadata()
    {
        var objects = new List<(string Path, ObjKey Id, UndoItem State)>();
        foreach ((ObjKey id, UndoItem state) in _history.Earliest)
        {
            if (_history.ExistedAtCheckpoint(id, out _))
            {
                objects.Add((_history.MapBack(Describe(state), state.Seq), id, state));
            }
        }

        objects.Sort((a, b) =>
        {
            int da = a.Path.Count(c => c == '/'), db = b.Path.Count(c => c == '/');
            return da != db ? db.CompareTo(da) : string.CompareOrdinal(a.Path, b.Path);
        });

        foreach ((string path, ObjKey id, UndoItem state) in objects)
        {
            Step();
            if (Skip(id, path))
            {
                continue;
            }

            using SafePath? p = SafePath.Resolve(path, out ResolveStatus status);
            if (p is null)
            {
                Error($"cannot restore the metadata of {path}: {SafePath.Describe(status)}");
                continue;
            }

            if (!p.TryLstat(out Interop.Stat st) || IdOf(st) != Cur(id))
            {
                Error($"cannot restore the metadata of {path}: {(st.st_ino == 0 ? "it does not exist" : "it is not the object the journal recorded")}");
                continue;
            }

            if (RestoreMetadata(p, st, state))
            {
                _result.MetadataRestored++;
            }
        }
    }

    /// <summary>Returns true when something was changed.</summary>
    private bool RestoreMetadata(SafePath p, Interop.Stat st, UndoItem state)
    {
        bool changed = false;
        bool symlink = (st.st_mode & S_IFMT) == S_IFLNK;
        if (st.st_uid != state.Uid || st.st_gid != state.Gid)
        {
            changed |= Chown(p, st, state.Uid, state.Gid);
            p.TryLstat(out st);
        }

        if (!symlink && (st.st_mode & 0xFFF) != (state.Mode & 0xFFF))
        {
            changed |= Chmod(p, st, state.Mode & 0xFFF);
        }

        changed |= RestoreXattrs(p, st, state);

        long atime = (st.st_atime_sec * 1_000_000_000) + st.st_atime_nsec;
        long mtime = (st.st_mtime_sec * 1_000_000_000) + st.st_mtime_nsec;
        if (atime != state.AtimeNs || mtime != state.MtimeNs)
        {
            changed |= SetTimes(p, st, state.AtimeNs, state.MtimeNs);
        }

        return changed;
    }

    private bool RestoreXattrs(SafePath p, in Interop.Stat st, UndoItem state)
    {
        var recorded = new Dictionary<string, (byte[] Name, byte[] Value)>(StringComparer.Ordinal);
        foreach ((byte[] name, byte[] value) in state.Xattrs)
        {
            recorded[Convert.ToHexString(name)] = (name, value);
        }

        bool changed = false;
        foreach (byte[] name in ListXattrs(p))
        {
            string key = Convert.ToHexString(name);
            bool ours = name.AsSpan().StartsWith("user."u8) || name.AsSpan().StartsWith("trusted."u8);
            if (recorded.TryGetValue(key, out (byte[] Name, byte[] Value) want))
            {
                byte[]? have = GetXattr(p, name);
                if (have is not null && have.AsSpan().SequenceEqual(want.Value))
                {
                    recorded.Remove(key);
                }
            }
            else if (ours)
            {
                changed |= SetXattr(p, st, name, null);
            }
        }

        foreach ((byte[] name, byte[] value) in recorded.Values)
        {
            changed |= SetXattr(p, st, name, value);
        }

        return changed;
    }

    private static List<byte[]> ListXattrs(SafePath p)
    {
        var names = new List<byte[]>();
        byte[] buf = new byte[64 * 1024];
        nint len;
        fixed (byte* path = p.StatPath)
        fixed (byte* b = buf)
        {
            len = llistxattr(path, b, (nuint)buf.Length);
        }

        int start = 0;
        for (int i = 0; i < len; i++)
        {
            if (buf[i] == 0)
            {
                if (i > start)
                {
                    names.Add(buf[start..i]);
                }

                start = i + 1;
            }
        }

        return names;
    }

    private static byte[]? GetXattr(SafePath p, byte[] name)
    {
        byte[] n = [.. name, 0];
        byte[] buf = new byte[64 * 1024];
        nint len;
        fixed (byte* path = p.StatPath)
        fixed (byte* np = n)
        fixed (byte* b = buf)
        {
            len = lgetxattr(path, np, b, (nuint)buf.Length);
        }

        return len < 0 ? null : buf[..(int)len];
    }
}
