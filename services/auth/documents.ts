export interface CredentialDoc {
	_id: string; // the user's id
	passwordHash: string;
	createdAt: Date;
	/** Addresses this user signed in from (LoginThrottle.addressKey), most recent first. */
	knownAddresses?: string[];
	/** An operator ended every session of the user then: access tokens issued before it stop working too. */
	sessionsRevokedAt?: Date;
}

export interface RefreshTokenDoc {
	_id: string;
	userId: string;
	familyId: string;
	secretHash: string;
	expiresAt: Date;
	createdAt: Date;
	rotatedAt?: Date;
	/** Set with `rotatedAt`: the token it was exchanged for, whose secret is sealed for a retry of a lost answer. */
	successorId?: string;
	successorSealed?: string;
	/** Handed out twice (a retry): its own rotation allows no retry. */
	shared?: boolean;
	revokedAt?: Date;
}

/** One sign-in's chain of refresh tokens. Its revocation is sticky: every refresh of the family checks it. */
export interface RefreshFamilyDoc {
	_id: string; // the familyId
	userId: string;
	createdAt: Date;
	revokedAt?: Date;
}
