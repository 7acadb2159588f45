package dev.crescent.api;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.security.auth.x500.X500Principal;

/**
 * The node name a TLS peer proved: the subject CN of the client certificate it presented. The TLS layer has
 * already checked the chain against the trust store (a peer whose certificate does not verify never gets this far).
 */
final class PeerCertificates {
    private PeerCertificates() {}

    /** The subject CN of the peer's certificate, or null without TLS, without a client certificate or a CN. */
    static String subjectName(SSLSession session) {
        if (session == null) {
            return null;
        }
        Certificate[] chain;
        try {
            chain = session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException none) {
            return null; // client authentication is requested, not required: the caller sent no certificate
        }
        return chain.length > 0 && chain[0] instanceof X509Certificate leaf
                ? commonName(leaf.getSubjectX500Principal())
                : null;
    }

    private static String commonName(X500Principal subject) {
        List<Rdn> rdns;
        try {
            rdns = new LdapName(subject.getName(X500Principal.RFC2253)).getRdns();
        } catch (InvalidNameException e) {
            return null;
        }
        // LdapName lists RDNs from the least significant; the CN that names the node is the most significant one.
        for (int i = rdns.size() - 1; i >= 0; i--) {
            Rdn rdn = rdns.get(i);
            if (rdn.getType().equalsIgnoreCase("CN") && rdn.getValue() instanceof String name && !name.isEmpty()) {
                return name;
            }
        }
        return null;
    }
}
