# domain: an image must not be a member of a domain.
function Invoke-DomainStep {
    $cs = Get-CimInstance -ClassName Win32_ComputerSystem
    if ($cs.PartOfDomain -and $Audit) {
        Write-Finding 'domain' "the machine is joined to the domain $($cs.Domain)"
        Complete-Audit 'domain' ''
    } elseif ($cs.PartOfDomain) {
        Write-Report 'domain' 'failed' "the machine is joined to the domain $($cs.Domain): remove it (Remove-Computer) before the image is made"
    } else {
        Write-Report 'domain' 'ok' "not joined to a domain (workgroup $($cs.Workgroup))"
    }
}
$script:Steps['domain'] = 'Invoke-DomainStep'
