# credentials: Credential Manager, in every profile, and credential files.
#
# Credential Manager keeps each profile's entries in files under
# AppData\{Roaming,Local}\Microsoft\{Credentials,Vault}: those files are
# overwritten and removed for every profile, which reaches the entries of
# users who are not logged on and works from a WinRM network logon, where
# the Credential Manager API fails with error 1312 (no logon session of
# that kind). The API is used too where it works, for the running user.
$CredentialManagerApi = @'
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

public static class AmiHardenCredentials {
    [DllImport("advapi32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
    static extern bool CredEnumerateW(string filter, int flags, out int count, out IntPtr credentials);
    [DllImport("advapi32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
    static extern bool CredDeleteW(string target, int type, int flags);
    [DllImport("advapi32.dll")]
    static extern void CredFree(IntPtr buffer);

    // Each entry as "type|target". Throws with the Win32 error when the
    // logon session has no Credential Manager (error 1312).
    public static List<string> List() {
        var found = new List<string>();
        int count;
        IntPtr list;
        if (!CredEnumerateW(null, 0, out count, out list)) {
            int error = Marshal.GetLastWin32Error();
            if (error == 1168) { return found; } // ERROR_NOT_FOUND: none
            throw new System.ComponentModel.Win32Exception(error);
        }
        try {
            for (int i = 0; i < count; i++) {
                IntPtr credential = Marshal.ReadIntPtr(list, i * IntPtr.Size);
                int type = Marshal.ReadInt32(credential, 4);
                string target = Marshal.PtrToStringUni(Marshal.ReadIntPtr(credential, 8));
                found.Add(type + "|" + target);
            }
        } finally {
            CredFree(list);
        }
        return found;
    }

    public static bool Delete(string target, int type) {
        return CredDeleteW(target, type, 0);
    }
}
'@

# The files, relative to a profile, that hold credentials of common tools.
$CredentialFiles = @('.aws\credentials', '.aws\sso\cache', '.aws\cli\cache', '.docker\config.json', '.git-credentials',
    '.netrc', '.kube\config', '.azure\accessTokens.json', '.azure\msal_token_cache.json', '.azure\msal_token_cache.bin',
    'AppData\Roaming\gcloud\credentials.db', 'AppData\Roaming\gcloud\access_tokens.db',
    'AppData\Roaming\gcloud\application_default_credentials.json')
# Credential Manager's stores, relative to a profile.
$CredentialStores = @('AppData\Roaming\Microsoft\Credentials', 'AppData\Local\Microsoft\Credentials',
    'AppData\Roaming\Microsoft\Vault', 'AppData\Local\Microsoft\Vault')

function Invoke-CredentialsStep {
    $apiDone = New-List
    $apiLeft = New-List
    try {
        Add-Type -TypeDefinition $CredentialManagerApi
        foreach ($entry in [AmiHardenCredentials]::List()) {
            $type, $target = $entry -split '\|', 2
            if ($Audit) { Write-Finding 'credentials' "Credential Manager holds $target"; continue }
            if ([AmiHardenCredentials]::Delete($target, [int]$type)) {
                [void]$apiDone.Add("Credential Manager entry $target")
            } else {
                [void]$apiLeft.Add($target)
            }
        }
    } catch {
        # 1312 from a WinRM network logon: the store files below still go.
        Write-Note 'credentials' "the Credential Manager API is not available to this logon ($($_.Exception.Message)); its store files were handled for every profile"
    }
    if ($apiLeft.Count -gt 0) {
        Write-Report 'credentials' 'failed' "could not delete the Credential Manager entries $(Join-List $apiLeft)"
        return
    }
    $paths = @()
    foreach ($profilePath in Get-ProfilePaths) {
        foreach ($rel in $CredentialFiles) { $paths += Join-Path $profilePath $rel }
        foreach ($rel in $CredentialStores) {
            $store = Join-Path $profilePath $rel
            if (Test-Path -LiteralPath $store) {
                # The entries go; the folder stays, as Windows made it.
                $paths += @(Get-ChildItem -LiteralPath $store -Force | ForEach-Object { $_.FullName })
            }
        }
    }
    $paths += $AmiHardenWipePaths
    Remove-Found 'credentials' $paths $apiDone
}
$script:Steps['credentials'] = 'Invoke-CredentialsStep'
