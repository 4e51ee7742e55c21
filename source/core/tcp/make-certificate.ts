import {generateKeyPair} from 'node:crypto';
import forge from 'node-forge';

/*
 * The one module that loads node-forge (~700 KB): imported with `import()`
 * only when a certificate must be made (self-signed.ts), never on start.
 */

/** A certificate and its private key, PEM. */
export type KeyPair = {cert: string; key: string};

/** What to put in a certificate made here. */
export type CertificateSpec = {
	commonName: string;
	/** DNS names and IP addresses it is valid for. */
	dnsNames: string[];
	ips: string[];
	notBefore: Date;
	notAfter: Date;
};

/** An RSA 2048 key pair from Node's crypto, in the thread pool: the ~0.5 s it takes does not block the event loop. */
async function rsaKeyPair(): Promise<{publicKey: string; privateKey: string}> {
	return new Promise((resolve, reject) => {
		generateKeyPair(
			'rsa',
			{modulusLength: 2048, publicKeyEncoding: {type: 'spki', format: 'pem'}, privateKeyEncoding: {type: 'pkcs1', format: 'pem'}},
			(error, publicKey, privateKey) => {
				if (error) {
					reject(error);
				} else {
					resolve({publicKey, privateKey});
				}
			},
		);
	});
}

/**
 * Makes a self-signed certificate (RSA 2048, SHA-256). Tests use it for
 * expired and wrong-host certificates: OpenSSL 3.0's `x509` cannot set a
 * past notAfter.
 */
export async function makeSelfSigned(spec: CertificateSpec): Promise<KeyPair> {
	const pems = await rsaKeyPair();
	const privateKey = forge.pki.privateKeyFromPem(pems.privateKey);
	const cert = forge.pki.createCertificate();
	cert.publicKey = forge.pki.publicKeyFromPem(pems.publicKey);
	// A random positive serial: browsers and OpenSSL reject two certificates with one issuer and serial.
	cert.serialNumber = `01${forge.util.bytesToHex(forge.random.getBytesSync(15))}`;
	cert.validity.notBefore = spec.notBefore;
	cert.validity.notAfter = spec.notAfter;
	const name = [{name: 'commonName', value: spec.commonName}];
	cert.setSubject(name);
	cert.setIssuer(name);
	cert.setExtensions([
		{name: 'basicConstraints', cA: false},
		{name: 'keyUsage', digitalSignature: true, keyEncipherment: true},
		{name: 'extKeyUsage', serverAuth: true},
		{name: 'subjectAltName', altNames: [...spec.dnsNames.map((value) => ({type: 2, value})), ...spec.ips.map((ip) => ({type: 7, ip}))]},
	]);
	cert.sign(privateKey, forge.md.sha256.create());
	return {cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(privateKey)};
}
