package dev.crescent.master.access;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** An IPv4 or IPv6 network in CIDR notation ({@code 10.0.0.0/8}, {@code ::1/128}); a bare address is a /32 or /128. */
public final class Cidr {
    private final String text;
    private final byte[] network;
    private final int prefixBits;

    private Cidr(String text, byte[] network, int prefixBits) {
        this.text = text;
        this.network = network;
        this.prefixBits = prefixBits;
    }

    public static Cidr parse(String text) {
        String trimmed = text.trim();
        int slash = trimmed.indexOf('/');
        String host = slash < 0 ? trimmed : trimmed.substring(0, slash);
        if (!host.matches("[0-9a-fA-F:.]+")) {
            // Only literal addresses: a host name here would make every check a DNS lookup.
            throw invalid(text, "not an IP address");
        }
        byte[] address;
        try {
            address = InetAddress.getByName(host).getAddress();
        } catch (UnknownHostException e) {
            throw invalid(text, "not an IP address");
        }
        int bits = address.length * 8;
        if (slash >= 0) {
            try {
                bits = Integer.parseInt(trimmed.substring(slash + 1));
            } catch (NumberFormatException e) {
                throw invalid(text, "bad prefix length");
            }
            if (bits < 0 || bits > address.length * 8) {
                throw invalid(text, "prefix length out of range");
            }
        }
        return new Cidr(trimmed, address, bits);
    }

    public boolean contains(InetAddress address) {
        if (address == null) {
            return false;
        }
        byte[] candidate = address.getAddress();
        if (candidate.length != network.length) {
            return false;
        }
        int full = prefixBits / 8;
        for (int i = 0; i < full; i++) {
            if (candidate[i] != network[i]) {
                return false;
            }
        }
        int rest = prefixBits % 8;
        if (rest == 0) {
            return true;
        }
        int mask = (0xff << (8 - rest)) & 0xff;
        return (candidate[full] & mask) == (network[full] & mask);
    }

    @Override
    public String toString() {
        return text;
    }

    private static StoreException invalid(String text, String why) {
        return new StoreException(ErrorCode.INVALID_PARAMS, "'" + text + "' is not a CIDR network: " + why);
    }
}
