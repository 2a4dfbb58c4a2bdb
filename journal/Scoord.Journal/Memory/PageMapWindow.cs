namespace Scoord.Journal.Memory;

/// <summary>
/// The pages of one 64 MiB window of an owner's address space (PAGE_MAP record). <see cref="Runs"/> says
/// which pages hold content (all of them, in every image); <see cref="Entries"/> give the hash of those
/// this image stores. In an incremental image a content page without an entry has the content its
/// base image gives it.
/// </summary>
public sealed class PageMapWindow
{
    public const int PageShift = 12;
    public const int PageSize = 1 << PageShift;
    public const int WindowShift = 26;
    public const int PagesPerWindow = 1 << (WindowShift - PageShift);
    public const int HashSize = 32;

    public ulong Window;
    /// <summary>(first page, count), page numbers relative to the window's start, ascending and disjoint.</summary>
    public List<(int First, int Count)> Runs = [];
    /// <summary>(page, SHA-256 of its 4096 bytes), ascending by page, every page inside a run.</summary>
    public List<(int Page, byte[] Hash)> Entries = [];

    public ulong StartAddress => Window << WindowShift;

    public int ContentPages
    {
        get
        {
            int n = 0;
            foreach ((int _, int count) in Runs)
            {
                n += count;
            }

            return n;
        }
    }
}
