package proctable

// commLen is the length to which Linux truncates comm.
const commLen = 15
