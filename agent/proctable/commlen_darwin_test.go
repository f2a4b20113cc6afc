package proctable

// commLen is MAXCOMLEN, the length of p_comm.
const commLen = 16
