package notify

import (
	"strings"
)

// Languages are the languages messages are rendered in; the first is the
// default.
var Languages = []string{"en", "nl", "fr", "de"}

// texts holds every message text by language and key. Placeholders are
// {name}; a test checks that every language has every key with the same
// placeholders. Dutch, French and German address the reader formally
// (u, vous, Sie), as a public employer does.
var texts = map[string]map[string]string{
	"en": {
		"device_camera":       "the camera",
		"device_microphone":   "the microphone",
		"device_screen":       "your screen",
		"device_output_audio": "the computer's sound",
		"device_device":       "a device",

		"media_title_unknown_app":      "{app} is using {device}",
		"media_body_unknown_app":       "{app} is not a meeting tool your organisation knows. If you did not start it, close it and contact your IT helpdesk.",
		"media_title_forbidden_app":    "{app} is using {device}",
		"media_body_forbidden_app":     "Your organisation does not allow {app} for meetings and calls. Please end the call and close {app}.",
		"media_title_unverified_app":   "Not the genuine app: {app} is using {device}",
		"media_body_unverified_app":    "A program calling itself {app} is using {device}, but it is not the genuine app. Please close it and contact your IT helpdesk.",
		"media_title_left_on":          "{device} is still in use",
		"media_body_left_on":           "{app} has been using {device} for a while with no meeting app running. If you are not in a call, please close it.",
		"media_title_screen_share":     "{app} is sharing your screen",
		"media_body_screen_share":      "Everything on your screen can be seen by others. Close documents that are not meant for them, and end the share when you are done.",
		"media_title_output_recording": "{app} is recording the computer's sound",
		"media_body_output_recording":  "{app} records what your computer plays, such as the other people in a call. If you did not intend this, close it.",
		"media_title_left_running":     "{app} is still running",
		"media_body_left_running":      "Your meeting seems to be over. Please close {app}, so that it cannot use the camera or microphone unnoticed.",

		"connection_title_wrong_server":             "{app}: not your organisation's server",
		"connection_body_wrong_server":              "{app} is set up for {detail}, which your organisation has not approved.",
		"connection_body_wrong_server_nodetail":     "{app} is set up for a server your organisation has not approved.",
		"connection_todo_wrong_server":              "Please use your organisation's server for work meetings.",
		"connection_title_personal_account":         "{app}: not your organisation's account",
		"connection_body_personal_account":          "{app} is signed in with an account that is not your organisation's ({detail}).",
		"connection_body_personal_account_nodetail": "{app} is signed in with an account that is not your organisation's.",
		"connection_todo_personal_account":          "Please sign in with your work account.",
		"connection_title_other":                    "{app} is not set up as your organisation requires",
		"connection_body_other":                     "{app} is not set up the way your organisation requires.",
		"connection_todo_other":                     "Please contact your IT helpdesk.",
		"account_personal":                          "a personal account",

		"site_title_unapproved_site_one":   "{app}: {services} is not approved",
		"site_title_unapproved_site_other": "{app}: meeting services that are not approved",
		"site_title_unapproved_site_none":  "{app}: a meeting service that is not approved",
		"site_body_unapproved_site_one":    "{app} lets {services} use the camera or microphone; your organisation has not approved it.",
		"site_body_unapproved_site_other":  "{app} lets {services} use the camera or microphone; your organisation has not approved them.",
		"site_body_unapproved_site_none":   "{app} lets a meeting service that your organisation has not approved use the camera or microphone.",
		"site_title_unknown_site":          "{app}: a site outside your organisation's list",
		"site_body_unknown_site":           "{app} lets a site outside your organisation's list use the camera or microphone.",
		"site_todo_unknown_site":           "If you use it for work meetings, please use a tool approved by your organisation instead.",
		"list_and":                         "{list} and {last}",

		"title_forbidden":  "{app} is not approved",
		"title_unlisted":   "{app} is not on the approved list",
		"title_restricted": "{app}: allowed with restrictions",
		"title_unverified": "Not the genuine app: {app}",
		"title_outdated":   "{app} needs to be updated",
		"title_approved":   "{app} is approved",

		"body_forbidden":          "Your organisation does not allow the use of {app}.",
		"body_unlisted":           "Your organisation has not approved {app} for meetings and calls.",
		"body_restricted":         "Your organisation allows {app} only with the following restriction:",
		"body_restricted_nonote":  "Your organisation allows {app} only with restrictions. Please check your organisation’s guidance before using it.",
		"body_unverified":         "A program calling itself {app} is not the genuine app. It may be a counterfeit or tampered copy. Please do not use it, and contact your IT helpdesk.",
		"body_outdated":           "Version {version} of {app} is older than the minimum version {min} required by your organisation. Please update it.",
		"body_outdated_noversion": "This version of {app} is older than the minimum version {min} required by your organisation. Please update it.",
		"body_approved":           "Your organisation has approved {app}.",

		"block":     "{app} will be closed in {when}. Please save your work.",
		"block_now": "{app} is being closed.",

		"reason_e2ee_none":                  "Calls are not end-to-end encrypted.",
		"reason_e2ee_optional":              "End-to-end encryption is off by default.",
		"reason_data_outside_eu":            "Meeting data is processed outside the EU.",
		"reason_data_eu_option":             "Meeting data may be processed outside the EU.",
		"reason_no_certification":           "No security certification (such as ISO/IEC 27001) is known for this service.",
		"reason_lifecycle_discontinued":     "The product was discontinued on {date} and gets no security updates.",
		"reason_lifecycle_end_of_support":   "Support for this product ends on {date}; after that it gets no security updates.",
		"reason_transfers_sccs":             "Personal data is transferred outside the EU under standard contractual clauses.",
		"reason_transfers_unknown":          "The provider does not say whether personal data leaves the EU.",
		"reason_jurisdiction_third_country": "The provider is established outside the EU, where authorities may demand access to the data.",
		"reason_jurisdiction_eu_subsidiary": "The provider’s parent company is outside the EU and may be obliged to hand over data.",
		"reason_no_processor_agreement":     "The provider offers no data processing agreement: it decides itself what happens to the data.",
		"reason_business_advertising":       "The service is free and paid for with advertising or personal data.",
		"reason_telemetry_always":           "The app sends usage data to the provider, and this cannot be switched off.",
		"reason_telemetry_opt_out":          "The app sends usage data to the provider unless this is switched off.",
		"reason_mfa_none":                   "Accounts cannot be protected with two-factor login.",
		"reason_multi_service":              "It shows the web apps of several services in one window, such as {services}: which of them uses your camera or microphone cannot be checked, and their settings cannot be enforced.",
		"posture_title_updates_off":         "{app}: automatic updates are off",
		"posture_body_updates_off":          "Automatic updates of {app} are switched off on this computer, so security fixes do not reach it.",
		"posture_todo_updates_off":          "Please switch updates back on, or ask your IT helpdesk.",
		"posture_title_outdated_package":    "{app} needs to be updated",
		"posture_body_outdated_package":     "A newer version of {app} is available ({detail}).",
		"posture_todo_outdated_package":     "Please install the update, or ask your IT helpdesk.",
		"posture_title_telemetry_on":        "{app} sends usage data",
		"posture_body_telemetry_on":         "{app} is set to send usage data to its provider, which your organisation wants switched off.",
		"posture_todo_telemetry_on":         "Please switch it off in the app’s privacy settings, or ask your IT helpdesk.",
		"posture_title_sso_not_enforced":    "{app}: sign-in is not tied to your organisation",
		"posture_body_sso_not_enforced":     "{app} is not set to require your organisation’s single sign-on.",
		"posture_todo_sso_not_enforced":     "Please sign in with your work account only; your IT helpdesk can set this up.",
		"posture_title_autostart":           "{app} starts when you log in",
		"posture_body_autostart":            "{app} is set to start by itself when you log in, so it runs when no meeting needs it.",
		"posture_todo_autostart":            "Please switch off “start at login” in its settings, and start it when you have a meeting.",
		"posture_title_keeps_running":       "{app} keeps running when closed",
		"posture_body_keeps_running":        "Closing the window of {app} leaves it running in the background.",
		"posture_todo_keeps_running":        "Please quit the app after your meeting, or switch this off in its settings.",
		"posture_title_recording":           "{app}: a meeting is being recorded on this computer",
		"posture_body_recording":            "A local recording of {app} ({detail} file) appeared during your meeting.",
		"posture_body_recording_nodetail":   "A local recording of {app} appeared during your meeting.",
		"posture_todo_recording":            "Recording a meeting needs everyone’s consent, and recordings belong in your organisation’s approved storage.",
		"posture_title_other":               "{app} is not set up as your organisation requires",
		"posture_body_other":                "A setting of {app} is not as your organisation requires.",
		"posture_todo_other":                "Please ask your IT helpdesk.",

		"alternative":  "Please use {alt} instead.",
		"use_approved": "Please use a tool approved by your organisation.",
		"info":         "More information: {url}",
		"info_action":  "More information",

		"minutes_one":   "{n} minute",
		"minutes_other": "{n} minutes",
		"seconds_one":   "{n} second",
		"seconds_other": "{n} seconds",
	},
	"nl": {
		"device_camera":       "de camera",
		"device_microphone":   "de microfoon",
		"device_screen":       "uw scherm",
		"device_output_audio": "het geluid van de computer",
		"device_device":       "een apparaat",

		"media_title_unknown_app":      "{app} gebruikt {device}",
		"media_body_unknown_app":       "{app} is geen vergadertoepassing die uw organisatie kent. Hebt u het niet zelf gestart, sluit het dan en neem contact op met uw IT-servicedesk.",
		"media_title_forbidden_app":    "{app} gebruikt {device}",
		"media_body_forbidden_app":     "Uw organisatie staat {app} niet toe voor vergaderingen en gesprekken. Beëindig het gesprek en sluit {app}.",
		"media_title_unverified_app":   "Niet de echte app: {app} gebruikt {device}",
		"media_body_unverified_app":    "Een programma dat zich voordoet als {app}, gebruikt {device}, maar is niet de echte app. Sluit het en neem contact op met uw IT-servicedesk.",
		"media_title_left_on":          "{device} is nog in gebruik",
		"media_body_left_on":           "{app} gebruikt {device} al een tijd terwijl er geen vergadertoepassing actief is. Bent u niet in gesprek, sluit het dan.",
		"media_title_screen_share":     "{app} deelt uw scherm",
		"media_body_screen_share":      "Anderen kunnen alles op uw scherm zien. Sluit documenten die niet voor hen bedoeld zijn en stop het delen als u klaar bent.",
		"media_title_output_recording": "{app} neemt het geluid van de computer op",
		"media_body_output_recording":  "{app} neemt op wat uw computer afspeelt, zoals de andere deelnemers aan een gesprek. Is dat niet de bedoeling, sluit het dan.",
		"media_title_left_running":     "{app} is nog geopend",
		"media_body_left_running":      "Uw vergadering lijkt afgelopen. Sluit {app}, zodat het de camera of microfoon niet ongemerkt kan gebruiken.",

		"connection_title_wrong_server":             "{app}: niet de server van uw organisatie",
		"connection_body_wrong_server":              "{app} is ingesteld op {detail}, een server die uw organisatie niet heeft goedgekeurd.",
		"connection_body_wrong_server_nodetail":     "{app} is ingesteld op een server die uw organisatie niet heeft goedgekeurd.",
		"connection_todo_wrong_server":              "Gebruik voor zakelijke vergaderingen de server van uw organisatie.",
		"connection_title_personal_account":         "{app}: niet het account van uw organisatie",
		"connection_body_personal_account":          "{app} is aangemeld met een account dat niet van uw organisatie is ({detail}).",
		"connection_body_personal_account_nodetail": "{app} is aangemeld met een account dat niet van uw organisatie is.",
		"connection_todo_personal_account":          "Meld u aan met uw werkaccount.",
		"connection_title_other":                    "{app} is niet ingesteld zoals uw organisatie vereist",
		"connection_body_other":                     "{app} is niet ingesteld zoals uw organisatie dat vereist.",
		"connection_todo_other":                     "Neem contact op met uw IT-servicedesk.",
		"account_personal":                          "een persoonlijk account",

		"site_title_unapproved_site_one":   "{app}: {services} is niet goedgekeurd",
		"site_title_unapproved_site_other": "{app}: vergaderdiensten die niet zijn goedgekeurd",
		"site_title_unapproved_site_none":  "{app}: een vergaderdienst die niet is goedgekeurd",
		"site_body_unapproved_site_one":    "{app} laat {services} de camera of microfoon gebruiken; uw organisatie heeft die dienst niet goedgekeurd.",
		"site_body_unapproved_site_other":  "{app} laat {services} de camera of microfoon gebruiken; uw organisatie heeft die diensten niet goedgekeurd.",
		"site_body_unapproved_site_none":   "{app} laat een vergaderdienst die uw organisatie niet heeft goedgekeurd de camera of microfoon gebruiken.",
		"site_title_unknown_site":          "{app}: een website buiten de lijst van uw organisatie",
		"site_body_unknown_site":           "{app} laat een website die niet op de lijst van uw organisatie staat de camera of microfoon gebruiken.",
		"site_todo_unknown_site":           "Gebruikt u die voor zakelijke vergaderingen, gebruik dan een programma dat uw organisatie heeft goedgekeurd.",
		"list_and":                         "{list} en {last}",

		"title_forbidden":  "{app} is niet toegestaan",
		"title_unlisted":   "{app} is niet goedgekeurd",
		"title_restricted": "{app}: toegestaan onder voorwaarden",
		"title_unverified": "Niet de echte app: {app}",
		"title_outdated":   "{app} moet worden bijgewerkt",
		"title_approved":   "{app} is goedgekeurd",

		"body_forbidden":          "Uw organisatie staat het gebruik van {app} niet toe.",
		"body_unlisted":           "Uw organisatie heeft {app} niet goedgekeurd voor vergaderingen en gesprekken.",
		"body_restricted":         "Uw organisatie staat {app} alleen toe onder de volgende voorwaarde:",
		"body_restricted_nonote":  "Uw organisatie staat {app} alleen onder voorwaarden toe. Raadpleeg de richtlijnen van uw organisatie voordat u de app gebruikt.",
		"body_unverified":         "Een programma dat zich voordoet als {app}, is niet de echte app. Het kan een namaak- of gewijzigde kopie zijn. Gebruik het niet en neem contact op met uw IT-servicedesk.",
		"body_outdated":           "Versie {version} van {app} is ouder dan de minimumversie {min} die uw organisatie vereist. Werk de app bij.",
		"body_outdated_noversion": "Deze versie van {app} is ouder dan de minimumversie {min} die uw organisatie vereist. Werk de app bij.",
		"body_approved":           "Uw organisatie heeft {app} goedgekeurd.",

		"block":     "{app} wordt over {when} afgesloten. Sla uw werk op.",
		"block_now": "{app} wordt afgesloten.",

		"reason_e2ee_none":                  "Gesprekken zijn niet end-to-end versleuteld.",
		"reason_e2ee_optional":              "End-to-end-versleuteling staat standaard uit.",
		"reason_data_outside_eu":            "Vergadergegevens worden buiten de EU verwerkt.",
		"reason_data_eu_option":             "Vergadergegevens kunnen buiten de EU worden verwerkt.",
		"reason_no_certification":           "Voor deze dienst is geen beveiligingscertificering (zoals ISO/IEC 27001) bekend.",
		"reason_lifecycle_discontinued":     "Het product is op {date} stopgezet en krijgt geen beveiligingsupdates meer.",
		"reason_lifecycle_end_of_support":   "De ondersteuning van dit product stopt op {date}; daarna krijgt het geen beveiligingsupdates meer.",
		"reason_transfers_sccs":             "Persoonsgegevens worden op basis van standaardcontractbepalingen buiten de EU doorgegeven.",
		"reason_transfers_unknown":          "De aanbieder zegt niet of persoonsgegevens de EU verlaten.",
		"reason_jurisdiction_third_country": "De aanbieder is buiten de EU gevestigd, waar autoriteiten toegang tot de gegevens kunnen eisen.",
		"reason_jurisdiction_eu_subsidiary": "Het moederbedrijf van de aanbieder zit buiten de EU en kan verplicht worden gegevens af te staan.",
		"reason_no_processor_agreement":     "De aanbieder biedt geen verwerkersovereenkomst: hij bepaalt zelf wat er met de gegevens gebeurt.",
		"reason_business_advertising":       "De dienst is gratis en wordt betaald met advertenties of persoonsgegevens.",
		"reason_telemetry_always":           "De app stuurt gebruiksgegevens naar de aanbieder, en dat kan niet worden uitgezet.",
		"reason_telemetry_opt_out":          "De app stuurt gebruiksgegevens naar de aanbieder, tenzij dat wordt uitgezet.",
		"reason_mfa_none":                   "Accounts kunnen niet met tweestapsverificatie worden beveiligd.",
		"reason_multi_service":              "De app toont de webapps van meerdere diensten in één venster, zoals {services}: welke daarvan uw camera of microfoon gebruikt, valt niet na te gaan, en hun instellingen kunnen niet worden afgedwongen.",
		"posture_title_updates_off":         "{app}: automatische updates staan uit",
		"posture_body_updates_off":          "Automatische updates van {app} staan op deze computer uit, dus beveiligingsupdates komen niet aan.",
		"posture_todo_updates_off":          "Zet de updates weer aan, of vraag het je IT-helpdesk.",
		"posture_title_outdated_package":    "{app} moet worden bijgewerkt",
		"posture_body_outdated_package":     "Er is een nieuwere versie van {app} beschikbaar ({detail}).",
		"posture_todo_outdated_package":     "Installeer de update, of vraag het je IT-helpdesk.",
		"posture_title_telemetry_on":        "{app} verstuurt gebruiksgegevens",
		"posture_body_telemetry_on":         "{app} is ingesteld om gebruiksgegevens naar de aanbieder te sturen; je organisatie wil dat uitgeschakeld hebben.",
		"posture_todo_telemetry_on":         "Zet het uit in de privacyinstellingen van de app, of vraag het je IT-helpdesk.",
		"posture_title_sso_not_enforced":    "{app}: aanmelden is niet gekoppeld aan je organisatie",
		"posture_body_sso_not_enforced":     "{app} is niet ingesteld om eenmalige aanmelding (SSO) van je organisatie te vereisen.",
		"posture_todo_sso_not_enforced":     "Meld je alleen aan met je werkaccount; je IT-helpdesk kan dit instellen.",
		"posture_title_autostart":           "{app} start bij het aanmelden",
		"posture_body_autostart":            "{app} start vanzelf als je je aanmeldt, en draait dus ook als er geen vergadering is.",
		"posture_todo_autostart":            "Zet „starten bij aanmelden” uit in de instellingen, en start de app als je een vergadering hebt.",
		"posture_title_keeps_running":       "{app} blijft draaien na sluiten",
		"posture_body_keeps_running":        "Als je het venster van {app} sluit, blijft de app op de achtergrond draaien.",
		"posture_todo_keeps_running":        "Sluit de app af na je vergadering, of zet dit uit in de instellingen.",
		"posture_title_recording":           "{app}: er wordt op deze computer een vergadering opgenomen",
		"posture_body_recording":            "Tijdens je vergadering verscheen een lokale opname van {app} ({detail}-bestand).",
		"posture_body_recording_nodetail":   "Tijdens je vergadering verscheen een lokale opname van {app}.",
		"posture_todo_recording":            "Voor het opnemen van een vergadering is toestemming van iedereen nodig, en opnames horen in de goedgekeurde opslag van je organisatie.",
		"posture_title_other":               "{app} is niet ingesteld zoals je organisatie vereist",
		"posture_body_other":                "Een instelling van {app} is niet zoals je organisatie vereist.",
		"posture_todo_other":                "Vraag het je IT-helpdesk.",

		"alternative":  "Gebruik in plaats daarvan {alt}.",
		"use_approved": "Gebruik een programma dat uw organisatie heeft goedgekeurd.",
		"info":         "Meer informatie: {url}",
		"info_action":  "Meer informatie",

		"minutes_one":   "{n} minuut",
		"minutes_other": "{n} minuten",
		"seconds_one":   "{n} seconde",
		"seconds_other": "{n} seconden",
	},
	"fr": {
		"device_camera":       "la caméra",
		"device_microphone":   "le microphone",
		"device_screen":       "votre écran",
		"device_output_audio": "le son de l’ordinateur",
		"device_device":       "un périphérique",

		"media_title_unknown_app":      "{app} utilise {device}",
		"media_body_unknown_app":       "{app} n’est pas un outil de réunion connu de votre organisation. Si vous ne l’avez pas lancé, fermez-le et contactez votre support informatique.",
		"media_title_forbidden_app":    "{app} utilise {device}",
		"media_body_forbidden_app":     "Votre organisation n’autorise pas {app} pour les réunions et les appels. Veuillez terminer l’appel et fermer {app}.",
		"media_title_unverified_app":   "Application non authentique : {app} utilise {device}",
		"media_body_unverified_app":    "Un programme se présentant comme {app} utilise {device}, mais ce n’est pas l’application authentique. Veuillez le fermer et contacter votre support informatique.",
		"media_title_left_on":          "{device} est toujours utilisé",
		"media_body_left_on":           "{app} utilise {device} depuis un moment sans qu’aucun outil de réunion ne soit ouvert. Si vous n’êtes pas en appel, veuillez le fermer.",
		"media_title_screen_share":     "{app} partage votre écran",
		"media_body_screen_share":      "Tout ce qui est affiché sur votre écran est visible par d’autres. Fermez les documents qui ne leur sont pas destinés et arrêtez le partage quand vous avez terminé.",
		"media_title_output_recording": "{app} enregistre le son de l’ordinateur",
		"media_body_output_recording":  "{app} enregistre ce que votre ordinateur diffuse, par exemple les autres participants d’un appel. Si ce n’est pas voulu, fermez-le.",
		"media_title_left_running":     "{app} est toujours ouvert",
		"media_body_left_running":      "Votre réunion semble terminée. Veuillez fermer {app} afin qu’il ne puisse pas utiliser la caméra ou le microphone à votre insu.",

		"connection_title_wrong_server":             "Serveur non approuvé : {app}",
		"connection_body_wrong_server":              "L’application {app} est configurée pour {detail}, un serveur que votre organisation n’a pas approuvé.",
		"connection_body_wrong_server_nodetail":     "L’application {app} est configurée pour un serveur que votre organisation n’a pas approuvé.",
		"connection_todo_wrong_server":              "Veuillez utiliser le serveur de votre organisation pour les réunions de travail.",
		"connection_title_personal_account":         "Compte non approuvé : {app}",
		"connection_body_personal_account":          "L’application {app} est connectée avec un compte qui n’est pas celui de votre organisation ({detail}).",
		"connection_body_personal_account_nodetail": "L’application {app} est connectée avec un compte qui n’est pas celui de votre organisation.",
		"connection_todo_personal_account":          "Veuillez vous connecter avec votre compte professionnel.",
		"connection_title_other":                    "Configuration non conforme : {app}",
		"connection_body_other":                     "L’application {app} n’est pas configurée comme l’exige votre organisation.",
		"connection_todo_other":                     "Veuillez contacter votre support informatique.",
		"account_personal":                          "un compte personnel",

		"site_title_unapproved_site_one":   "Service non approuvé dans {app} : {services}",
		"site_title_unapproved_site_other": "Services de réunion non approuvés dans {app}",
		"site_title_unapproved_site_none":  "Service de réunion non approuvé dans {app}",
		"site_body_unapproved_site_one":    "Le navigateur {app} permet à {services} d’utiliser la caméra ou le microphone ; votre organisation n’a pas approuvé ce service.",
		"site_body_unapproved_site_other":  "Le navigateur {app} permet à {services} d’utiliser la caméra ou le microphone ; votre organisation n’a pas approuvé ces services.",
		"site_body_unapproved_site_none":   "Le navigateur {app} permet à un service de réunion que votre organisation n’a pas approuvé d’utiliser la caméra ou le microphone.",
		"site_title_unknown_site":          "Site hors de la liste de votre organisation : {app}",
		"site_body_unknown_site":           "Le navigateur {app} permet à un site absent de la liste de votre organisation d’utiliser la caméra ou le microphone.",
		"site_todo_unknown_site":           "Si vous l’utilisez pour des réunions de travail, veuillez plutôt utiliser un outil approuvé par votre organisation.",
		"list_and":                         "{list} et {last}",

		"title_forbidden":  "Application non autorisée : {app}",
		"title_unlisted":   "Application non approuvée : {app}",
		"title_restricted": "Application autorisée sous conditions : {app}",
		"title_unverified": "Application non authentique : {app}",
		"title_outdated":   "Mise à jour requise : {app}",
		"title_approved":   "Application approuvée : {app}",

		"body_forbidden":          "Votre organisation n’autorise pas l’application {app}.",
		"body_unlisted":           "Votre organisation n’a pas approuvé l’application {app} pour les réunions et les appels.",
		"body_restricted":         "Votre organisation n’autorise l’application {app} qu’à la condition suivante :",
		"body_restricted_nonote":  "Votre organisation n’autorise l’application {app} que sous certaines conditions. Veuillez consulter ses consignes avant de l’utiliser.",
		"body_unverified":         "Un programme se présentant comme {app} n’est pas l’application authentique. Il peut s’agir d’une copie contrefaite ou modifiée. Veuillez ne pas l’utiliser et contacter votre support informatique.",
		"body_outdated":           "La version {version} de l’application {app} est antérieure à la version minimale {min} exigée par votre organisation. Veuillez mettre l’application à jour.",
		"body_outdated_noversion": "Cette version de l’application {app} est antérieure à la version minimale {min} exigée par votre organisation. Veuillez mettre l’application à jour.",
		"body_approved":           "Votre organisation a approuvé l’application {app}.",

		"block":     "L’application {app} sera fermée dans {when}. Veuillez enregistrer votre travail.",
		"block_now": "L’application {app} va être fermée.",

		"reason_e2ee_none":                  "Les appels ne sont pas chiffrés de bout en bout.",
		"reason_e2ee_optional":              "Le chiffrement de bout en bout n’est pas activé par défaut.",
		"reason_data_outside_eu":            "Les données des réunions sont traitées hors de l’UE.",
		"reason_data_eu_option":             "Les données des réunions peuvent être traitées hors de l’UE.",
		"reason_no_certification":           "Aucune certification de sécurité (telle que l’ISO/IEC 27001) n’est connue pour ce service.",
		"reason_lifecycle_discontinued":     "Le produit a été abandonné le {date} et ne reçoit plus de mises à jour de sécurité.",
		"reason_lifecycle_end_of_support":   "Le support de ce produit prend fin le {date} ; il ne recevra ensuite plus de mises à jour de sécurité.",
		"reason_transfers_sccs":             "Des données personnelles sont transférées hors de l’UE sur la base de clauses contractuelles types.",
		"reason_transfers_unknown":          "Le fournisseur n’indique pas si des données personnelles quittent l’UE.",
		"reason_jurisdiction_third_country": "Le fournisseur est établi hors de l’UE, où des autorités peuvent exiger l’accès aux données.",
		"reason_jurisdiction_eu_subsidiary": "La société mère du fournisseur est hors de l’UE et peut être tenue de remettre des données.",
		"reason_no_processor_agreement":     "Le fournisseur ne propose pas d’accord de sous-traitance : il décide seul de ce que deviennent les données.",
		"reason_business_advertising":       "Le service est gratuit et financé par la publicité ou par des données personnelles.",
		"reason_telemetry_always":           "L’application envoie des données d’utilisation au fournisseur, sans possibilité de le désactiver.",
		"reason_telemetry_opt_out":          "L’application envoie des données d’utilisation au fournisseur, sauf si cela est désactivé.",
		"reason_mfa_none":                   "Les comptes ne peuvent pas être protégés par une authentification à deux facteurs.",
		"reason_multi_service":              "L’application affiche dans une seule fenêtre les applications web de plusieurs services, comme {services} : impossible de vérifier lequel utilise votre caméra ou votre micro, ni d’imposer leurs réglages.",
		"posture_title_updates_off":         "{app} : les mises à jour automatiques sont désactivées",
		"posture_body_updates_off":          "Les mises à jour automatiques de {app} sont désactivées sur cet ordinateur : les correctifs de sécurité ne lui parviennent pas.",
		"posture_todo_updates_off":          "Veuillez les réactiver, ou demandez à votre support informatique.",
		"posture_title_outdated_package":    "{app} doit être mis à jour",
		"posture_body_outdated_package":     "Une version plus récente de {app} est disponible ({detail}).",
		"posture_todo_outdated_package":     "Veuillez installer la mise à jour, ou demandez à votre support informatique.",
		"posture_title_telemetry_on":        "{app} envoie des données d’utilisation",
		"posture_body_telemetry_on":         "{app} est réglé pour envoyer des données d’utilisation à son fournisseur, ce que votre organisation veut désactiver.",
		"posture_todo_telemetry_on":         "Veuillez le désactiver dans les paramètres de confidentialité de l’application, ou demandez à votre support informatique.",
		"posture_title_sso_not_enforced":    "{app} : la connexion n’est pas liée à votre organisation",
		"posture_body_sso_not_enforced":     "{app} n’est pas réglé pour exiger l’authentification unique (SSO) de votre organisation.",
		"posture_todo_sso_not_enforced":     "Veuillez vous connecter uniquement avec votre compte professionnel ; votre support informatique peut le configurer.",
		"posture_title_autostart":           "{app} démarre à l’ouverture de session",
		"posture_body_autostart":            "{app} démarre tout seul à l’ouverture de session, et tourne donc sans réunion.",
		"posture_todo_autostart":            "Veuillez désactiver « lancer à l’ouverture de session » dans ses paramètres, et le lancer pour vos réunions.",
		"posture_title_keeps_running":       "{app} continue de tourner une fois fermé",
		"posture_body_keeps_running":        "Fermer la fenêtre de {app} le laisse tourner en arrière-plan.",
		"posture_todo_keeps_running":        "Veuillez quitter l’application après votre réunion, ou désactiver ce réglage.",
		"posture_title_recording":           "{app} : une réunion est enregistrée sur cet ordinateur",
		"posture_body_recording":            "Un enregistrement local de {app} (fichier {detail}) est apparu pendant votre réunion.",
		"posture_body_recording_nodetail":   "Un enregistrement local de {app} est apparu pendant votre réunion.",
		"posture_todo_recording":            "Enregistrer une réunion exige le consentement de tous, et les enregistrements doivent aller dans le stockage approuvé de votre organisation.",
		"posture_title_other":               "{app} n’est pas configuré comme l’exige votre organisation",
		"posture_body_other":                "Un paramètre de {app} n’est pas conforme aux exigences de votre organisation.",
		"posture_todo_other":                "Veuillez demander à votre support informatique.",

		"alternative":  "Veuillez utiliser {alt} à la place.",
		"use_approved": "Veuillez utiliser un outil approuvé par votre organisation.",
		"info":         "Plus d’informations : {url}",
		"info_action":  "Plus d’informations",

		"minutes_one":   "{n} minute",
		"minutes_other": "{n} minutes",
		"seconds_one":   "{n} seconde",
		"seconds_other": "{n} secondes",
	},
	"de": {
		"device_camera":       "die Kamera",
		"device_microphone":   "das Mikrofon",
		"device_screen":       "Ihren Bildschirm",
		"device_output_audio": "den Ton des Computers",
		"device_device":       "ein Gerät",

		"media_title_unknown_app":      "{app} verwendet {device}",
		"media_body_unknown_app":       "{app} ist kein Besprechungswerkzeug, das Ihre Organisation kennt. Wenn Sie es nicht selbst gestartet haben, schließen Sie es und wenden Sie sich an Ihren IT-Support.",
		"media_title_forbidden_app":    "{app} verwendet {device}",
		"media_body_forbidden_app":     "Ihre Organisation erlaubt {app} nicht für Besprechungen und Anrufe. Bitte beenden Sie den Anruf und schließen Sie {app}.",
		"media_title_unverified_app":   "Nicht die echte Anwendung: {app} verwendet {device}",
		"media_body_unverified_app":    "Ein Programm, das sich als {app} ausgibt, verwendet {device}, ist aber nicht die echte Anwendung. Bitte schließen Sie es und wenden Sie sich an Ihren IT-Support.",
		"media_title_left_on":          "{device} wird noch verwendet",
		"media_body_left_on":           "{app} verwendet {device} seit einiger Zeit, ohne dass ein Besprechungswerkzeug läuft. Wenn Sie nicht in einem Gespräch sind, schließen Sie es bitte.",
		"media_title_screen_share":     "{app} teilt Ihren Bildschirm",
		"media_body_screen_share":      "Andere sehen alles auf Ihrem Bildschirm. Schließen Sie Dokumente, die nicht für sie bestimmt sind, und beenden Sie die Freigabe, wenn Sie fertig sind.",
		"media_title_output_recording": "{app} nimmt den Ton des Computers auf",
		"media_body_output_recording":  "{app} nimmt auf, was Ihr Computer wiedergibt, etwa die anderen Teilnehmenden eines Gesprächs. Wenn das nicht beabsichtigt ist, schließen Sie es.",
		"media_title_left_running":     "{app} läuft noch",
		"media_body_left_running":      "Ihre Besprechung scheint beendet. Bitte schließen Sie {app}, damit es Kamera oder Mikrofon nicht unbemerkt verwenden kann.",

		"connection_title_wrong_server":             "{app}: nicht der Server Ihrer Organisation",
		"connection_body_wrong_server":              "{app} ist für {detail} eingerichtet, einen Server, den Ihre Organisation nicht freigegeben hat.",
		"connection_body_wrong_server_nodetail":     "{app} ist für einen Server eingerichtet, den Ihre Organisation nicht freigegeben hat.",
		"connection_todo_wrong_server":              "Bitte verwenden Sie für dienstliche Besprechungen den Server Ihrer Organisation.",
		"connection_title_personal_account":         "{app}: nicht das Konto Ihrer Organisation",
		"connection_body_personal_account":          "{app} ist mit einem Konto angemeldet, das nicht zu Ihrer Organisation gehört ({detail}).",
		"connection_body_personal_account_nodetail": "{app} ist mit einem Konto angemeldet, das nicht zu Ihrer Organisation gehört.",
		"connection_todo_personal_account":          "Bitte melden Sie sich mit Ihrem dienstlichen Konto an.",
		"connection_title_other":                    "{app} ist nicht wie vorgegeben eingerichtet",
		"connection_body_other":                     "{app} ist nicht so eingerichtet, wie Ihre Organisation es vorgibt.",
		"connection_todo_other":                     "Bitte wenden Sie sich an Ihren IT-Support.",
		"account_personal":                          "ein privates Konto",

		"site_title_unapproved_site_one":   "{app}: {services} ist nicht freigegeben",
		"site_title_unapproved_site_other": "{app}: nicht freigegebene Besprechungsdienste",
		"site_title_unapproved_site_none":  "{app}: ein nicht freigegebener Besprechungsdienst",
		"site_body_unapproved_site_one":    "{app} erlaubt {services}, die Kamera oder das Mikrofon zu verwenden; Ihre Organisation hat diesen Dienst nicht freigegeben.",
		"site_body_unapproved_site_other":  "{app} erlaubt {services}, die Kamera oder das Mikrofon zu verwenden; Ihre Organisation hat diese Dienste nicht freigegeben.",
		"site_body_unapproved_site_none":   "{app} erlaubt einem Besprechungsdienst, den Ihre Organisation nicht freigegeben hat, die Kamera oder das Mikrofon zu verwenden.",
		"site_title_unknown_site":          "{app}: eine Website außerhalb der Liste Ihrer Organisation",
		"site_body_unknown_site":           "{app} erlaubt einer Website, die nicht auf der Liste Ihrer Organisation steht, die Kamera oder das Mikrofon zu verwenden.",
		"site_todo_unknown_site":           "Wenn Sie sie für dienstliche Besprechungen nutzen, verwenden Sie bitte stattdessen eine von Ihrer Organisation freigegebene Anwendung.",
		"list_and":                         "{list} und {last}",

		"title_forbidden":  "{app} ist nicht zugelassen",
		"title_unlisted":   "{app} ist nicht freigegeben",
		"title_restricted": "{app}: nur eingeschränkt zugelassen",
		"title_unverified": "Nicht die echte Anwendung: {app}",
		"title_outdated":   "{app} muss aktualisiert werden",
		"title_approved":   "{app} ist zugelassen",

		"body_forbidden":          "Ihre Organisation erlaubt die Nutzung von {app} nicht.",
		"body_unlisted":           "Ihre Organisation hat {app} nicht für Besprechungen und Anrufe freigegeben.",
		"body_restricted":         "Ihre Organisation erlaubt {app} nur mit folgender Einschränkung:",
		"body_restricted_nonote":  "Ihre Organisation erlaubt {app} nur mit Einschränkungen. Bitte beachten Sie die Vorgaben Ihrer Organisation, bevor Sie die Anwendung verwenden.",
		"body_unverified":         "Ein Programm, das sich als {app} ausgibt, ist nicht die echte Anwendung. Es kann sich um eine gefälschte oder veränderte Kopie handeln. Bitte verwenden Sie es nicht und wenden Sie sich an Ihren IT-Support.",
		"body_outdated":           "Version {version} von {app} ist älter als die von Ihrer Organisation verlangte Mindestversion {min}. Bitte aktualisieren Sie die Anwendung.",
		"body_outdated_noversion": "Diese Version von {app} ist älter als die von Ihrer Organisation verlangte Mindestversion {min}. Bitte aktualisieren Sie die Anwendung.",
		"body_approved":           "Ihre Organisation hat {app} zugelassen.",

		"block":     "{app} wird in {when} beendet. Bitte speichern Sie Ihre Arbeit.",
		"block_now": "{app} wird beendet.",

		"reason_e2ee_none":                  "Gespräche sind nicht Ende-zu-Ende-verschlüsselt.",
		"reason_e2ee_optional":              "Ende-zu-Ende-Verschlüsselung ist standardmäßig nicht aktiviert.",
		"reason_data_outside_eu":            "Besprechungsdaten werden außerhalb der EU verarbeitet.",
		"reason_data_eu_option":             "Besprechungsdaten können außerhalb der EU verarbeitet werden.",
		"reason_no_certification":           "Für diesen Dienst ist keine Sicherheitszertifizierung (etwa ISO/IEC 27001) bekannt.",
		"reason_lifecycle_discontinued":     "Das Produkt wurde am {date} eingestellt und erhält keine Sicherheitsupdates mehr.",
		"reason_lifecycle_end_of_support":   "Der Support für dieses Produkt endet am {date}; danach erhält es keine Sicherheitsupdates mehr.",
		"reason_transfers_sccs":             "Personenbezogene Daten werden auf Grundlage von Standardvertragsklauseln in Länder außerhalb der EU übermittelt.",
		"reason_transfers_unknown":          "Der Anbieter sagt nicht, ob personenbezogene Daten die EU verlassen.",
		"reason_jurisdiction_third_country": "Der Anbieter hat seinen Sitz außerhalb der EU, wo Behörden Zugriff auf die Daten verlangen können.",
		"reason_jurisdiction_eu_subsidiary": "Die Muttergesellschaft des Anbieters sitzt außerhalb der EU und kann zur Herausgabe von Daten verpflichtet werden.",
		"reason_no_processor_agreement":     "Der Anbieter bietet keinen Auftragsverarbeitungsvertrag: Er entscheidet selbst, was mit den Daten geschieht.",
		"reason_business_advertising":       "Der Dienst ist kostenlos und wird mit Werbung oder personenbezogenen Daten bezahlt.",
		"reason_telemetry_always":           "Die App sendet Nutzungsdaten an den Anbieter, und das lässt sich nicht abschalten.",
		"reason_telemetry_opt_out":          "Die App sendet Nutzungsdaten an den Anbieter, solange das nicht abgeschaltet wird.",
		"reason_mfa_none":                   "Konten lassen sich nicht mit Zwei-Faktor-Anmeldung schützen.",
		"reason_multi_service":              "Die App zeigt die Web-Apps mehrerer Dienste in einem Fenster, etwa {services}: Welcher davon Ihre Kamera oder Ihr Mikrofon nutzt, lässt sich nicht prüfen, und ihre Einstellungen lassen sich nicht durchsetzen.",
		"posture_title_updates_off":         "{app}: Automatische Updates sind aus",
		"posture_body_updates_off":          "Automatische Updates von {app} sind auf diesem Computer ausgeschaltet, Sicherheitskorrekturen kommen also nicht an.",
		"posture_todo_updates_off":          "Bitte schalten Sie die Updates wieder ein oder wenden Sie sich an Ihren IT-Support.",
		"posture_title_outdated_package":    "{app} muss aktualisiert werden",
		"posture_body_outdated_package":     "Eine neuere Version von {app} ist verfügbar ({detail}).",
		"posture_todo_outdated_package":     "Bitte installieren Sie das Update oder wenden Sie sich an Ihren IT-Support.",
		"posture_title_telemetry_on":        "{app} sendet Nutzungsdaten",
		"posture_body_telemetry_on":         "{app} ist so eingestellt, dass es Nutzungsdaten an den Anbieter sendet; Ihre Organisation möchte das abgeschaltet haben.",
		"posture_todo_telemetry_on":         "Bitte schalten Sie es in den Datenschutzeinstellungen der App ab oder wenden Sie sich an Ihren IT-Support.",
		"posture_title_sso_not_enforced":    "{app}: Die Anmeldung ist nicht an Ihre Organisation gebunden",
		"posture_body_sso_not_enforced":     "{app} ist nicht so eingestellt, dass es die zentrale Anmeldung (SSO) Ihrer Organisation verlangt.",
		"posture_todo_sso_not_enforced":     "Bitte melden Sie sich nur mit Ihrem Arbeitskonto an; Ihr IT-Support kann das einrichten.",
		"posture_title_autostart":           "{app} startet bei der Anmeldung",
		"posture_body_autostart":            "{app} startet von selbst, wenn Sie sich anmelden, und läuft so auch ohne Besprechung.",
		"posture_todo_autostart":            "Bitte schalten Sie „Beim Anmelden starten“ in den Einstellungen ab und starten Sie die App für Ihre Besprechungen.",
		"posture_title_keeps_running":       "{app} läuft nach dem Schließen weiter",
		"posture_body_keeps_running":        "Wenn Sie das Fenster von {app} schließen, läuft die App im Hintergrund weiter.",
		"posture_todo_keeps_running":        "Bitte beenden Sie die App nach Ihrer Besprechung oder schalten Sie das in den Einstellungen ab.",
		"posture_title_recording":           "{app}: Auf diesem Computer wird eine Besprechung aufgezeichnet",
		"posture_body_recording":            "Während Ihrer Besprechung ist eine lokale Aufzeichnung von {app} ({detail}-Datei) entstanden.",
		"posture_body_recording_nodetail":   "Während Ihrer Besprechung ist eine lokale Aufzeichnung von {app} entstanden.",
		"posture_todo_recording":            "Eine Besprechung aufzuzeichnen erfordert die Einwilligung aller, und Aufzeichnungen gehören in den freigegebenen Speicher Ihrer Organisation.",
		"posture_title_other":               "{app} ist nicht so eingerichtet, wie Ihre Organisation es verlangt",
		"posture_body_other":                "Eine Einstellung von {app} entspricht nicht den Vorgaben Ihrer Organisation.",
		"posture_todo_other":                "Bitte wenden Sie sich an Ihren IT-Support.",

		"alternative":  "Bitte verwenden Sie stattdessen {alt}.",
		"use_approved": "Bitte verwenden Sie eine von Ihrer Organisation freigegebene Anwendung.",
		"info":         "Weitere Informationen: {url}",
		"info_action":  "Weitere Informationen",

		"minutes_one":   "{n} Minute",
		"minutes_other": "{n} Minuten",
		"seconds_one":   "{n} Sekunde",
		"seconds_other": "{n} Sekunden",
	},
}

// translator returns a function that looks a key up in lang's table
// (English when lang is not one of Languages, and for a key lang lacks)
// and fills its {placeholders} from vars in one pass, so text inside a
// value is never read as a placeholder.
func translator(lang string) func(key string, vars map[string]string) string {
	table, ok := texts[lang]
	if !ok {
		table = texts["en"]
	}
	return func(key string, vars map[string]string) string {
		s, ok := table[key]
		if !ok {
			s = texts["en"][key]
		}
		return expand(s, vars)
	}
}

// expand replaces each {name} in s with vars[name]; an unknown name is
// left as it is.
func expand(s string, vars map[string]string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		name := s[i+1 : i+j]
		v, ok := vars[name]
		if !ok {
			v = s[i : i+j+1]
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}

// Language picks the message language for a locale: a POSIX locale
// ("nl_NL.UTF-8", "fr_BE@euro", "C"), a BCP 47 tag ("de-AT") or a
// GNU LANGUAGE priority list ("nl:en"). It returns "en", "nl", "fr" or
// "de"; English when nothing fits.
//
// It is a small hand-written mapping rather than the
// golang.org/x/text/language matcher: only the primary language subtag
// matters for four languages, POSIX locales need taking apart before the
// matcher could read them anyway, and the mapping keeps the CLDR tables
// out of the agent binary.
func Language(locale string) string {
	for _, l := range strings.FieldsFunc(locale, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		// Cut the codeset and modifier of a POSIX locale, then the
		// region or script of either form.
		l, _, _ = strings.Cut(l, ".")
		l, _, _ = strings.Cut(l, "@")
		l, _, _ = strings.Cut(l, ";") // Accept-Language quality
		primary, _, _ := strings.Cut(strings.ReplaceAll(l, "_", "-"), "-")
		if lang, ok := languageOf[strings.ToLower(primary)]; ok {
			return lang
		}
	}
	return Languages[0]
}

// languageOf maps primary language subtags (ISO 639-1, and the ISO 639-2
// codes some systems use) to a message language. The extra entries are the
// ones the CLDR language matcher (golang.org/x/text/language) pairs with
// one of ours at high confidence: Frisian and Afrikaans readers get Dutch;
// Luxembourgish, Swiss German and Romansh readers German; Breton, Occitan,
// Corsican and Haitian Creole readers French.
var languageOf = map[string]string{
	"en": "en", "eng": "en",
	"nl": "nl", "nld": "nl", "dut": "nl", "fy": "nl", "af": "nl",
	"fr": "fr", "fra": "fr", "fre": "fr", "br": "fr", "oc": "fr", "co": "fr", "ht": "fr",
	"de": "de", "deu": "de", "ger": "de", "gsw": "de", "lb": "de", "rm": "de",
}
