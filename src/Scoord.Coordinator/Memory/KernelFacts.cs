using System.Security.Cryptography;
using Scoord.Journal.Memory;

namespace Scoord.Coordinator.Memory;

/// <summary>
/// What an image depends on beyond its processes, read from scoord's own process: the [vdso] bytes (hashed:
/// a restore puts the image's vDSO back where it was, which is only right on the same kernel) and the place
/// of [vvar]/[vvar_vclock] relative to it (the vDSO code reaches them at fixed offsets).
/// </summary>
internal static unsafe class KernelFacts
{
    private static (byte[] Hash, List<SpecialArea> Layout)? s_vdso;

    public static (byte[] Hash, List<SpecialArea> Layout) Vdso => s_vdso ??= ReadVdso();

    private static (byte[] Hash, List<SpecialArea> Layout) ReadVdso()
    {
        List<MappedArea> areas = MappedArea.ParseSmaps(ProcFile.Read("/proc/self/maps") ?? []);
        MappedArea? vdso = areas.Find(a => a.PathText == "[vdso]") ?? throw new InjectionException("scoord's own process has no [vdso]");
        byte[] hash = SHA256.HashData(new ReadOnlySpan<byte>((void*)vdso.Start, checked((int)vdso.Length)));
        var layout = new List<SpecialArea>();
        foreach (MappedArea a in areas)
        {
            if (a.PathText is "[vdso]" or "[vvar]" or "[vvar_vclock]")
            {
                layout.Add(new SpecialArea { Name = a.PathText, Offset = (long)a.Start - (long)vdso.Start, Size = a.Length });
            }
        }

        return (hash, layout);
    }

    /// <summary>Why an image cannot be restored on this kernel, or null when it can.</summary>
    public static string? Mismatch(MemoryImage image)
    {
        (byte[] hash, List<SpecialArea> layout) = Vdso;
        if (!hash.AsSpan().SequenceEqual(image.VdsoHash))
        {
            return "the image was taken on another kernel (its vDSO differs from this kernel's), so its vDSO cannot be put back";
        }

        if (layout.Count != image.VdsoLayout.Count)
        {
            return "the kernel's vDSO data pages are laid out differently than in the image";
        }

        for (int i = 0; i < layout.Count; i++)
        {
            if (layout[i].Name != image.VdsoLayout[i].Name || layout[i].Offset != image.VdsoLayout[i].Offset || layout[i].Size != image.VdsoLayout[i].Size)
            {
                return "the kernel's vDSO data pages are laid out differently than in the image";
            }
        }

        return null;
    }

    /// <summary>XCR0 and the XSAVE size as the kernel reports them in an XSAVE image (the fx_sw_bytes at 464).</summary>
    public static (ulong Xcr0, uint Size) Xsave(byte[] xsave) =>
        xsave.Length >= 488 ? (BitConverter.ToUInt64(xsave, 472), BitConverter.ToUInt32(xsave, 480)) : (0, (uint)xsave.Length);
}
