using System.Globalization;
using Scoord.Coordinator.Rollback.Model;
using Scoord.Interceptors;
using Scoord.Journal;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Rollback;

/// <summary>
/// `scoord diff CKPT`: for every name the journal touched, what it held at the checkpoint against what it
/// holds now on disk, net of everything between, like `git status`: a name that holds a new object is
/// A, one that lost its object D, an object now at another name (not moved by its directory) R, a file
/// whose bytes or size differ M (a file replaced by a new one through rename, as editors and `sed -i`
/// do, is M, not A plus D), metadata only m. Directory times are not listed (they follow their entries).
/// </summary>
public sealed partial class RollbackEngine
{
    internal static List<PathChange> Diff(JournalStore store, CheckpointInfo ckpt)
    {
        CheckpointModel model = ModelBuilder.Load(store.Reader, ckpt.Seq);
        using IDisposable directories = SafePath.CacheDirectories();
        var engine = new RollbackEngine(store, model, new RollbackResult { Checkpoint = ckpt, DryRun = true }, force: true, dry: true, progress: null);
        engine.Verify(); // with --force semantics: the live tree is the disk
        return engine.Changes();
    }

    private List<PathChange> Changes()
    {
        // A gone original with a body of its kind at its name (made again, by an editor or a rollback) is
        // that body, as rollback would reuse it: compared by content, not reported as deleted and created.
        var targets = new List<(NameSlot Slot, TrackedObject Obj, int Depth)>();
        foreach ((NameSlot slot, TrackedObject? o) in _m.AtCheckpoint)
        {
            if (o is { Original: true })
            {
                targets.Add((slot, o, _m.Depth(slot, checkpoint: true)));
            }
        }

        targets.Sort((a, b) => a.Depth.CompareTo(b.Depth));
        foreach ((NameSlot slot, TrackedObject o, _) in targets)
        {
            NameSlot live = _live.ToLive(slot);
            if (!_live.IsLive(_live.Phys(o)) && _live.At(live) is { } body && Discardable(body) && CanReuse(body, o, live))
            {
                _live.Incarnate(o, body);
            }
        }

        var changes = new List<PathChange>();
        foreach ((NameSlot ckSlot, TrackedObject? logical) in _m.AtCheckpoint)
        {
            string? then = _m.PathOf(ckSlot, checkpoint: true);
            NameSlot slot = _live.ToLive(ckSlot);
            string? now = _live.PathOf(slot);
            if (then is null)
            {
                continue;
            }

            TrackedObject? o = logical is null ? null : _live.Phys(logical);
            TrackedObject? occupant = _live.At(slot);
            if (o is null)
            {
                if (occupant is not null && now is not null && !MovedOriginal(occupant))
                {
                    changes.Add(Created(now, occupant));
                }

                continue;
            }

            if (!logical!.Original)
            {
                continue;
            }

            if (occupant == o)
            {
                Compare(changes, now ?? then, logical, o);
                continue;
            }

            if (occupant is not null && now is not null && _live.IsLive(o))
            {
                if (!MovedOriginal(occupant))
                {
                    changes.Add(Created(now, occupant));
                }
            }

            if (_live.IsLive(o))
            {
                NameSlot? moved = null;
                foreach (NameSlot n in _live.NamesOf(o))
                {
                    if (!logical.CheckpointNames.Contains(_live.ToCheckpoint(n)))
                    {
                        moved = n;
                        break;
                    }
                }

                if (moved is { } m && _live.PathOf(m) is { } to && logical.CheckpointNames[0] == ckSlot)
                {
                    changes.Add(new PathChange(ChangeKind.Renamed, then, to, null, string.Empty, o.IsDirectory));
                    Compare(changes, to, logical, o);
                }
                else if (moved is null || logical.CheckpointNames[0] != ckSlot)
                {
                    changes.Add(new PathChange(ChangeKind.Deleted, then, null, null, "hard link", false));
                }

                continue;
            }

            if (occupant is null || now is null)
            {
                changes.Add(new PathChange(ChangeKind.Deleted, then, null, null, string.Empty, o.IsDirectory));
                continue;
            }

            // The object is gone and something else stands at its name: one line, as git shows a replaced file.
            if (occupant.Type != o.Type)
            {
                changes.Add(new PathChange(ChangeKind.Modified, now, null, null, $"was a {TypeName(o.Type)}, now a {TypeName(occupant.Type)}", false));
                continue;
            }

            Compare(changes, now, logical, occupant);
        }

        // Names below directories made since the checkpoint (their own names were never free at it).
        foreach (NameSlot slot in _live.Slots)
        {
            if (!_m.AtCheckpoint.ContainsKey(_live.ToCheckpoint(slot)) && _live.At(slot) is { } occupant && _live.PathOf(slot) is { } now && !MovedOriginal(occupant))
            {
                changes.Add(Created(now, occupant));
            }
        }

        // Originals the journal only met through an fd whose name was gone, alive at names it never saw.
        foreach (TrackedObject o in _m.Objects)
        {
            if (UnseenButAlive(o) && BodyPath(o) is { } where)
            {
                Compare(changes, where, o, o);
            }
        }

        changes.Sort((a, b) =>
        {
            int c = string.CompareOrdinal(a.Path, b.Path);
            return c != 0 ? c : a.Kind.CompareTo(b.Kind);
        });
        return changes;
    }

    /// <summary>An original standing at one of its checkpoint names elsewhere, or moved: its own line says it.</summary>
    private bool MovedOriginal(TrackedObject occupant) => _live.Logical(occupant) is { Original: true } o && o.CheckpointNames.Count > 0;

    private PathChange Created(string path, TrackedObject occupant)
    {
        bool link = !occupant.IsDirectory && _live.NamesOf(occupant).Count > 1;
        return new PathChange(ChangeKind.Created, path, null, null, link ? "hard link" : string.Empty, occupant.IsDirectory);
    }

    /// <summary>
    /// Content and metadata of <paramref name="body"/> (the object now at <paramref name="path"/>) against
    /// what <paramref name="o"/> was at the checkpoint.
    /// </summary>
    private unsafe void Compare(List<PathChange> changes, string path, TrackedObject o, TrackedObject body)
    {
        if (o.AtCheckpoint is not { } state)
        {
            return;
        }

        using SafePath? p = SafePath.Resolve(path, out _);
        if (p is null || !p.TryLstat(out Interop.Stat st))
        {
            return;
        }

        bool sameBody = body == o;
        bool outside = _outsideChanged.Contains(o.Id);
        bool dir = (state.Mode & S_IFMT) == S_IFDIR;
        if ((state.Mode & S_IFMT) == S_IFREG)
        {
            long delta = st.st_size - state.Size;
            string? detail = null;
            long bytes = 0;
            if (sameBody && !outside && o.Sources.Count == 0)
            {
                if (delta != 0)
                {
                    detail = SizeText(delta);
                    bytes = Math.Abs(delta);
                }
            }
            else
            {
                var content = CheckpointContent.Of(o, _m.Reader);
                if ((!sameBody || outside) && content.UnchangedBytes > 0)
                {
                    detail = delta != 0 ? SizeText(delta) + ", changed outside the journal" : "changed outside the journal";
                }
                else
                {
                    long differ = DifferingBytes(p, content, st.st_size);
                    if (delta != 0)
                    {
                        detail = SizeText(delta);
                        bytes = Math.Abs(delta);
                    }
                    else if (differ > 0)
                    {
                        detail = string.Create(CultureInfo.InvariantCulture, $"{differ} bytes changed");
                        bytes = differ;
                    }
                }
            }

            if (detail is not null)
            {
                changes.Add(new PathChange(ChangeKind.Modified, path, null, bytes, detail, false));
                return;
            }
        }
        else if ((state.Mode & S_IFMT) == S_IFLNK && !sameBody && ReadLink(p) is { } target && !target.AsSpan().SequenceEqual(state.Data))
        {
            changes.Add(new PathChange(ChangeKind.Modified, path, null, null, "symlink target", false));
            return;
        }

        var what = new List<string>();
        if ((st.st_mode & 0xFFF) != (state.Mode & 0xFFF) && (st.st_mode & S_IFMT) != S_IFLNK)
        {
            what.Add("mode");
        }

        if (st.st_uid != state.Uid || st.st_gid != state.Gid)
        {
            what.Add("owner");
        }

        if (!XattrsEqual(p, state))
        {
            what.Add("xattrs");
        }

        long mtime = (st.st_mtime_sec * 1_000_000_000) + st.st_mtime_nsec;
        if (!dir && mtime != state.MtimeNs)
        {
            what.Add("times");
        }

        if (what.Count > 0)
        {
            changes.Add(new PathChange(ChangeKind.Metadata, path, null, null, string.Join(", ", what), dir));
        }
    }

    /// <summary>Bytes of the checkpoint's content (data and holes) the file at <paramref name="p"/> does not hold.</summary>
    private unsafe long DifferingBytes(SafePath p, CheckpointContent content, long sizeNow)
    {
        int fd;
        fixed (byte* n = p.Name)
        {
            fd = openat(p.ParentFd, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOATIME, 0);
            if (fd < 0)
            {
                fd = openat(p.ParentFd, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
            }
        }

        if (fd < 0)
        {
            return 0;
        }

        try
        {
            long differ = 0;
            foreach (Segment s in content.Segments)
            {
                if (s.Kind == SegmentKind.Hole)
                {
                    if (!IsHole(fd, s.Start, s.End, sizeNow))
                    {
                        differ += s.Length;
                    }
                }
                else if (s.Kind == SegmentKind.Data)
                {
                    byte[] want = content.Bytes(s).ToArray();
                    if (!Holds(fd, fd, want, s.Start, sizeNow))
                    {
                        differ += s.Length;
                    }
                }
            }

            return differ;
        }
        finally
        {
            close(fd);
        }
    }

    private static string SizeText(long delta) => delta > 0
        ? string.Create(CultureInfo.InvariantCulture, $"+{delta} bytes")
        : string.Create(CultureInfo.InvariantCulture, $"-{-delta} bytes");

    private static string TypeName(uint type) => type switch
    {
        S_IFREG => "file",
        S_IFDIR => "directory",
        S_IFLNK => "symlink",
        S_IFIFO => "fifo",
        S_IFSOCK => "socket",
        _ => "special file",
    };
}
