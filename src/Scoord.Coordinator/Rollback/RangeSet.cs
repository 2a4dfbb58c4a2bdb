namespace Scoord.Coordinator.Rollback;

/// <summary>A set of disjoint half-open byte ranges; <see cref="Claim"/> returns what was not yet in it.</summary>
internal sealed class RangeSet
{
    private readonly List<(long Start, long End)> _ranges = new();

    /// <summary>Adds [start, end) and returns the parts of it that were not covered before, in order.</summary>
    public List<(long Start, long End)> Claim(long start, long end)
    {
        var free = new List<(long, long)>();
        if (start >= end)
        {
            return free;
        }

        long pos = start;
        foreach ((long s, long e) in _ranges)
        {
            if (e <= pos)
            {
                continue;
            }

            if (s >= end)
            {
                break;
            }

            if (s > pos)
            {
                free.Add((pos, Math.Min(s, end)));
            }

            pos = Math.Max(pos, e);
            if (pos >= end)
            {
                break;
            }
        }

        if (pos < end)
        {
            free.Add((pos, end));
        }

        Add(start, end);
        return free;
    }

    private void Add(long start, long end)
    {
        var merged = new List<(long, long)>(_ranges.Count + 1);
        bool placed = false;
        foreach ((long s, long e) in _ranges)
        {
            if (e < start)
            {
                merged.Add((s, e));
            }
            else if (s > end)
            {
                if (!placed)
                {
                    merged.Add((start, end));
                    placed = true;
                }

                merged.Add((s, e));
            }
            else
            {
                start = Math.Min(start, s);
                end = Math.Max(end, e);
            }
        }

        if (!placed)
        {
            merged.Add((start, end));
        }

        _ranges.Clear();
        _ranges.AddRange(merged);
    }
}
