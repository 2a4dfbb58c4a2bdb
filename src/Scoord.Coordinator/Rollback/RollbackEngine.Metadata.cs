using Scoord.Interceptors;
using Scoord.Coordinator.Rollback.Model;
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
        var objects = new List<(TrackedObject Obj, int Depth)>();
        foreach (TrackedObject o in _m.Objects)
        {
            if (o.Original && o.AtCheckpoint is not null && o.CheckpointNames.Count > 0)
            {
                objects.Add((o, _m.Depth(o.CheckpointNames[0], checkpoint: true)));
            }
            else if (UnseenButAlive(o))
            {
                objects.Add((o, int.MaxValue - 1)); // names the journal never saw: deepest of all
            }
        }

        objects.Sort((a, b) => b.Depth.CompareTo(a.Depth));
        foreach ((TrackedObject o, int depth) in objects)
        {
            Step();
            TrackedObject phys = _live.Phys(o);
            bool unseen = !_live.IsLive(phys) && UnseenButAlive(o);
            if (depth == int.MaxValue || _whole.Contains(o.Id) || (!_live.IsLive(phys) && !unseen) || Frozen(phys) || (!unseen && Frozen(_live.NamesOf(phys)[0])))
            {
                continue;
            }

            if (_dry && _recreated.Contains(o.Id))
            {
                continue;
            }

            string? path = BodyPath(phys);
            if (path is null)
            {
                continue;
            }

            using SafePath? p = SafePath.Resolve(path, out ResolveStatus status);
            if (p is null)
            {
                Error($"cannot restore the metadata of {path}: {SafePath.Describe(status)}");
                continue;
            }

            if (!p.TryLstat(out Interop.Stat st) || (phys.Disk.IsKnown && IdOf(st) != phys.Disk))
            {
                Error($"cannot restore the metadata of {path}: {(st.st_ino == 0 ? "it does not exist" : "it is not the object the journal recorded")}");
                continue;
            }

            bool atimeToo = _acted.Contains(o.Id) || _acted.Contains(phys.Id) || _recreated.Contains(o.Id) || _outsideChanged.Contains(o.Id);
            if (RestoreMetadata(p, st, o.AtCheckpoint!, atimeToo))
            {
                _result.MetadataRestored++;
            }
        }
    }

    /// <summary>
    /// Returns true when something was changed. atime alone is restored only when <paramref name="atimeToo"/>
    /// (the object was acted on, or a journaled operation set its times): reading a file moves its atime,
    /// and a rollback to a state the tree is already in must not rewrite every file someone read since.
    /// </summary>
    private bool RestoreMetadata(SafePath p, Interop.Stat st, UndoItem state, bool atimeToo)
    {
        if (_dry)
        {
            string? what = MetadataDifference(p, st, state, atimeToo);
            if (what is not null)
            {
                Plan($"restore {p.Full} ({what})");
            }

            return what is not null;
        }

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
        if (mtime != state.MtimeNs || ((atimeToo || changed) && atime != state.AtimeNs))
        {
            changed |= SetTimes(p, st, state.AtimeNs, state.MtimeNs);
        }

        return changed;
    }

    /// <summary>Dry run: what <see cref="RestoreMetadata(SafePath, Interop.Stat, UndoItem, bool)"/> would change ("mode, times"), or null.</summary>
    private static string? MetadataDifference(SafePath p, in Interop.Stat st, UndoItem state, bool atimeToo)
    {
        var what = new List<string>();
        if (st.st_uid != state.Uid || st.st_gid != state.Gid)
        {
            what.Add("owner");
        }

        if ((st.st_mode & S_IFMT) != S_IFLNK && (st.st_mode & 0xFFF) != (state.Mode & 0xFFF))
        {
            what.Add("mode");
        }

        if (!XattrsEqual(p, state))
        {
            what.Add("xattrs");
        }

        long atime = (st.st_atime_sec * 1_000_000_000) + st.st_atime_nsec;
        long mtime = (st.st_mtime_sec * 1_000_000_000) + st.st_mtime_nsec;
        if (mtime != state.MtimeNs || ((atimeToo || what.Count > 0) && atime != state.AtimeNs))
        {
            what.Add("times");
        }

        return what.Count == 0 ? null : string.Join(", ", what);
    }

    private static bool XattrsEqual(SafePath p, UndoItem state)
    {
        var recorded = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach ((byte[] name, byte[] value) in state.Xattrs)
        {
            recorded[Convert.ToHexString(name)] = value;
        }

        foreach (byte[] name in ListXattrs(p))
        {
            string key = Convert.ToHexString(name);
            bool ours = name.AsSpan().StartsWith("user."u8) || name.AsSpan().StartsWith("trusted."u8);
            if (recorded.Remove(key, out byte[]? want))
            {
                byte[]? have = GetXattr(p, name);
                if (have is null || !have.AsSpan().SequenceEqual(want))
                {
                    return false;
                }
            }
            else if (ours)
            {
                return false;
            }
        }

        return recorded.Count == 0;
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

    // The largest list and value Linux allows (XATTR_LIST_MAX, XATTR_SIZE_MAX), one buffer for all calls.
    [ThreadStatic]
    private static byte[]? t_xattrBuffer;

    private static List<byte[]> ListXattrs(SafePath p)
    {
        var names = new List<byte[]>();
        byte[] buf = t_xattrBuffer ??= new byte[64 * 1024];
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
        byte[] buf = t_xattrBuffer ??= new byte[64 * 1024];
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
