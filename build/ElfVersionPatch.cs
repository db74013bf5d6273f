using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

// Sets VER_FLG_WEAK on one version-need entry (.gnu.version_r) of ELF64 little-endian shared objects, when the
// system libstdc++ does not define that version. glibc then loads the object and only the symbols bound to that
// version would be missing; in libLibTorchSharp.so no relocation uses them (docs/design.md §6).
public class SgnasWeakenGlibcxxNeed : Task
{
    [Required] public ITaskItem[] Files { get; set; }
    [Required] public string Version { get; set; }
    /// <summary>Patch even where the build machine's libstdc++ has the version: for files that ship to other
    /// machines (the sgnas tool package). A weak need is harmless where the version exists.</summary>
    public bool Force { get; set; }

    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    public override bool Execute()
    {
        if (!Force && SystemHasVersion(Version))
        {
            Log.LogMessage(MessageImportance.Low, "System libstdc++ defines " + Version + "; no patch needed.");
            return true;
        }
        foreach (var item in Files)
        {
            string path = item.ItemSpec;
            try
            {
                byte[] bytes = File.ReadAllBytes(path);
                int changed = Weaken(bytes, Version);
                if (changed < 0) { Log.LogWarning("{0}: not an ELF64 little-endian file with .gnu.version_r; left as is.", path); continue; }
                if (changed == 0) continue; // already weak or no such need
                string tmp = path + ".sgnas-tmp";
                File.WriteAllBytes(tmp, bytes);
                // Replace rather than write in place: the output copy may be a hard link into the NuGet cache.
                File.Delete(path);
                File.Move(tmp, path);
                Log.LogMessage(MessageImportance.High, "Marked " + Version + " weak in " + path);
            }
            catch (Exception e)
            {
                Log.LogError("Could not patch {0}: {1}", path, e.Message);
            }
        }
        return !Log.HasLoggedErrors;
    }

    static bool SystemHasVersion(string version)
    {
        string[] candidates = {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6" };
        byte[] needle = Encoding.ASCII.GetBytes(version + "\0");
        foreach (var c in candidates)
        {
            if (!File.Exists(c)) continue;
            byte[] hay = File.ReadAllBytes(c);
            return IndexOf(hay, needle) >= 0;
        }
        return true; // no libstdc++ where we look: not a system this patch is for
    }

    static int IndexOf(byte[] hay, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= hay.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && hay[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }

    /// <returns>number of entries changed, or -1 if the file is not a patchable ELF.</returns>
    public static int Weaken(byte[] b, string version)
    {
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F' || b[4] != 2 || b[5] != 1)
            return -1;
        ulong shoff = BitConverter.ToUInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A);
        int shnum = BitConverter.ToUInt16(b, 0x3C);
        int changed = 0; bool found = false;
        for (int i = 0; i < shnum; i++)
        {
            int sh = checked((int)shoff + i * shentsize);
            uint type = BitConverter.ToUInt32(b, sh + 4);
            if (type != ShtGnuVerneed) continue;
            found = true;
            int off = checked((int)BitConverter.ToUInt64(b, sh + 0x18));
            uint link = BitConverter.ToUInt32(b, sh + 0x28);
            int strsh = checked((int)shoff + (int)link * shentsize);
            int stroff = checked((int)BitConverter.ToUInt64(b, strsh + 0x18));
            int vn = off;
            while (true)
            {
                int cnt = BitConverter.ToUInt16(b, vn + 2);
                int aux = vn + (int)BitConverter.ToUInt32(b, vn + 8);
                for (int a = 0; a < cnt; a++)
                {
                    int name = stroff + (int)BitConverter.ToUInt32(b, aux + 8);
                    int end = Array.IndexOf(b, (byte)0, name);
                    string s = Encoding.ASCII.GetString(b, name, end - name);
                    if (s == version)
                    {
                        ushort flags = BitConverter.ToUInt16(b, aux + 4);
                        if ((flags & VerFlgWeak) == 0)
                        {
                            flags |= VerFlgWeak;
                            b[aux + 4] = (byte)(flags & 0xff); b[aux + 5] = (byte)(flags >> 8);
                            changed++;
                        }
                    }
                    uint next = BitConverter.ToUInt32(b, aux + 12);
                    if (next == 0) break;
                    aux += (int)next;
                }
                uint vnext = BitConverter.ToUInt32(b, vn + 12);
                if (vnext == 0) break;
                vn += (int)vnext;
            }
        }
        return found ? changed : -1;
    }
}
